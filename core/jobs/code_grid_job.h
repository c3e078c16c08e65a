#pragma once

// The engine behind the VQ-VAE code-grid editor: one thread that owns the loaded VQ-VAE and
// answers three kinds of work, most urgent first — the codebook's palette (each code decoded as a
// grid filled with it) once a model is chosen, the decode of an edited grid (latest request wins),
// and the code usage over held-out images, counted in small chunks between decodes so that an
// edit never waits behind it. Qt's Mandelbrot pattern: one mutex-guarded request slot, a wait
// condition when idle, abort on destruction. Errors come back as data.

#include "core/storage/model_cache.h"
#include "models/generative_model.h"

#include <QMetaType>
#include <QMutex>
#include <QString>
#include <QThread>
#include <QVector>
#include <QWaitCondition>

#include <opencv2/core.hpp>

#include <map>
#include <memory>
#include <vector>

namespace le {

class CodeGridModel;
class GenerativeModel;

struct CodePalette {
    quint64 model = 0;  // the setModel() serial it answers
    QString checkpoint;
    int codes = 0;  // K
    int rows = 0, cols = 0;
    std::vector<cv::Mat> pictures;  // K 8-bit images: the decode of a grid filled with code k
    QString error;
};

struct CodeGridDecode {
    quint64 id = 0;
    cv::Mat edited;         // 8-bit decode of the edited grid
    cv::Mat original;       // 8-bit decode of the base grid
    cv::Mat difference;     // RGB heat map of |edited - original|
    int changedPixels = 0;  // pixels whose value moved by more than 8 of 255
    double ms = 0;
    QString error;
};

struct CodeUsage {
    QString checkpoint;
    QString dataset;
    int images = 0;          // how many held-out images were encoded
    QVector<qint64> counts;  // K: how many grid cells chose each code
    QString error;
    int deadCodes() const;  // codes never chosen
};

class CodeGridJob final : public QThread {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(CodeGridJob)

public:
    // Held-out images encoded at once while counting usage (between two looks at the requests).
    static constexpr int kUsageBatch = 50;

    explicit CodeGridJob(QObject* parent = nullptr);
    ~CodeGridJob() override;  // abort, wake, wait

    // Thread-safe. Loads the checkpoint (a VQ-VAE), renders its palette, then counts its code
    // usage over the first `usageImages` test images of its dataset (once per checkpoint: kept).
    // Returns the serial that paletteReady carries.
    quint64 setModel(const QString& checkpoint, const QString& device = QStringLiteral("cpu"),
                     int usageImages = 300);
    // Thread-safe; a newer request replaces one not yet started. Codes are row-major.
    void requestDecode(quint64 id, const QVector<int>& base, const QVector<int>& codes);

    // Counts, per code, the grid cells of `images` (N×C×H×W in [-1, 1]) that choose it.
    static QVector<qint64> countCodes(CodeGridModel& model, const torch::Tensor& images);

signals:
    void paletteReady(const le::CodePalette& palette);
    void decoded(const le::CodeGridDecode& result);
    void usageProgress(int done, int total);
    void usageReady(const le::CodeUsage& usage);

protected:
    void run() override;

private:
    struct DecodeRequest {
        quint64 id = 0;
        QVector<int> base, codes;
    };
    void loadModel(const QString& checkpoint, const QString& device, quint64 serial);
    void decode(const DecodeRequest& request);
    void countUsageChunk();

    QMutex m_mutex;
    QWaitCondition m_wake;
    bool m_abort = false;
    // Guarded by m_mutex: what the GUI asked for.
    QString m_wantedCheckpoint, m_wantedDevice;
    int m_wantedUsageImages = 300;
    quint64 m_modelSerial = 0;
    bool m_modelPending = false;
    bool m_decodePending = false;
    DecodeRequest m_decode;

    // The thread's own state.
    ModelCache m_models;                       // the job thread's
    std::shared_ptr<GenerativeModel> m_model;  // its codeGrid() is set
    QString m_checkpoint, m_dataset;
    QVector<int> m_cachedBase;
    cv::Mat m_cachedOriginal;
    CodeUsage m_usage;     // being counted for m_checkpoint
    int m_usageNext = -1;  // next image to count; -1: nothing to count
    std::map<QString, CodeUsage> m_usageDone;
};

void registerCodeGridMetaTypes();

}  // namespace le

Q_DECLARE_METATYPE(le::CodePalette)
Q_DECLARE_METATYPE(le::CodeGridDecode)
Q_DECLARE_METATYPE(le::CodeUsage)
