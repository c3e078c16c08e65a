#pragma once

// Autoregressive stepping for the GUI: PixelCNN pixels or VQ-VAE prior codes, one position at a
// time, in its own thread. A compute loop in the manner of Qt's Mandelbrot example: commands
// (play, pause, step, step a row, run to the end, restart) set flags under one mutex and wake
// the loop; the loop steps every completion, reports each step as plain values and 8-bit
// images, and waits between steps while playing. Nothing here ever blocks the caller.

#include "generative_model.h"

#include <QMetaType>
#include <QMutex>
#include <QString>
#include <QThread>
#include <QVector>
#include <QWaitCondition>

#include <opencv2/core.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace le {

struct AutoregressiveSetup {
    QString checkpointPath;
    QString device = QStringLiteral("cpu");
    double temperature = 1.0;
    quint64 seed = 1;
    int completions = 1;  // side by side; completion i uses seed + i
    // Anchors: an 8-bit grey or RGB image (fitted to the model's shape) and a CV_8UC1 mask of the
    // same size, nonzero where kept. Empty image: start from blank.
    cv::Mat anchorImage;
    cv::Mat anchorMask;
};

// One step as the GUI sees it; about completion 0 except `images`.
struct AutoregressiveStep {
    quint64 generation = 0;  // which restart it belongs to; older ones are stale
    QString family;
    qint64 position = -1;  // -1: the state before any step
    qint64 stepsDone = 0;
    qint64 totalSteps = 0;
    int channel = 0, row = 0, col = 0;
    int gridWidth = 0, gridHeight = 0;  // positions per row and rows (pixels or code cells)
    int cellSize = 1;                   // image pixels per grid cell (4 for VQ-VAE codes)
    int channels = 1;                   // values per position
    std::vector<float> distribution;    // the predicted distribution; empty when anchored
    int value = -1;                     // the sampled or anchored value
    bool anchored = false;
    QVector<cv::Mat> images;  // the current state of every completion, 8-bit grey or RGB
    double msPerStep = 0;     // model time of the last step, all completions together
    bool done = false;
};

class AutoregressiveSession final : public QThread {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AutoregressiveSession)

public:
    explicit AutoregressiveSession(QObject* parent = nullptr);
    ~AutoregressiveSession() override;  // abort, wake, wait

    // Thread-safe, non-blocking. Restart replaces any sampling in progress (a new generation).
    quint64 restart(const AutoregressiveSetup& setup);
    void play();
    void pause();
    void stepOnce();
    void stepRow();
    void runToEnd();
    void setStepsPerSecond(double stepsPerSecond);  // while playing
    bool isBusy() const;                            // playing or stepping

signals:
    void stepped(const le::AutoregressiveStep& step);
    // A restart failed (bad checkpoint, family without stepping, anchors that do not fit).
    void failed(quint64 generation, const QString& message);
    void stopped();  // paused, finished or a step batch done

protected:
    void run() override;

private:
    enum class Mode { Paused, Playing, Steps, ToEnd };
    struct Sampling;

    void command(Mode mode, qint64 steps);
    void startSampling(const AutoregressiveSetup& setup, quint64 generation);
    AutoregressiveStep stepAll(bool wantImages);
    AutoregressiveStep describe(const SampleStep* last, bool wantImages) const;

    mutable QMutex m_mutex;
    QWaitCondition m_wake;
    bool m_abort = false;
    std::optional<std::pair<AutoregressiveSetup, quint64>> m_pendingSetup;
    Mode m_mode = Mode::Paused;
    qint64 m_stepsLeft = 0;
    double m_stepsPerSecond = 30;
    quint64 m_generation = 0;

    // Loop thread only.
    std::unique_ptr<Sampling> m_sampling;
};

void registerAutoregressiveMetaTypes();

}  // namespace le

Q_DECLARE_METATYPE(le::AutoregressiveStep)
