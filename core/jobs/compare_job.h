#pragma once

// Compare, blurriness against sharpness: the same number of samples from every chosen model (same
// seed) beside real test images, each measured against the data: sharpness (variance of the
// Laplacian) and the high-frequency share of the radially averaged power spectrum, both as ratios
// to the data's; reconstruction error where the model encodes; bits per dimension where its
// likelihood is exact; the Fréchet distance in the project's classifier's features
// ("classifier_fd", not FID); and the time per sample. Runs in its own thread with progress and
// cancel (a PixelCNN draws its samples a few at a time, so a cancel is quick).

#include "models/generative_model.h"

#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QThread>

#include <opencv2/core.hpp>

#include <atomic>
#include <limits>
#include <memory>
#include <vector>

namespace le {

struct CompareRequest {
    QString dataset;  // "fashion-mnist", "faces", ...: the real images and the classifier
    QStringList checkpoints;
    int count = 64;  // samples per model, and real images in the data row
    quint64 seed = 1;
    double temperature = 1.0;
    QString device = QStringLiteral("cpu");
    QString classifierPath;      // empty: the shipped one for the dataset, if any
    int realForDistance = 1000;  // held-out real images the Fréchet distances compare against
};

// One row of the table: the data (family "data") or a model. NaN where a number does not apply.
struct CompareRow {
    static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
    QString checkpointPath;  // empty for the data row
    QString family;
    QString title;  // "Data · faces", "VAE · faces"
    cv::Mat grid;   // the samples (or real images) tiled, 8-bit
    std::vector<double> spectrum;
    double sharpness = kNone;
    double sharpnessRatio = kNone;  // to the data's
    double highFrequency = kNone;   // share of spectral power in the outer half of the radii
    double highFrequencyRatio = kNone;
    double reconstructionMse = kNone;  // encode + decode of the real images, per pixel on [-1, 1]
    double bitsPerDim = kNone;         // exact likelihoods only (Glow, PixelCNN)
    double classifierFd = kNone;       // for the data row: the floor, real against real
    double msPerSample = kNone;
    QString error;
};

// The lecture's claim, tested on the rows: VAEs blurrier than the data, GANs sharper than VAEs.
// Says which rows bear it out, in numbers, or why it cannot tell.
QString blurVerdict(const std::vector<CompareRow>& rows);
// The table as CSV, a header line and one line per row (RFC 4180 quoting).
QString compareCsv(const std::vector<CompareRow>& rows);

class CompareJob final : public QThread {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(CompareJob)

public:
    explicit CompareJob(QObject* parent = nullptr);
    ~CompareJob() override;  // cancel and wait

    quint64 begin(const CompareRequest& request);  // thread-safe; returns the generation
    void cancel();

signals:
    // done/total count samples drawn over all models (and the data row as one unit).
    void progress(quint64 generation, qint64 done, qint64 total, const QString& what);
    // Row 0 is the data; model i is row i + 1.
    void rowReady(quint64 generation, int row, const le::CompareRow& result);
    void jobFinished(quint64 generation, bool cancelled, const QString& error);

protected:
    void run() override;

private:
    CompareRow compareModel(const QString& path, const CompareRequest& request,
                            const CompareRow& data, quint64 generation, qint64 doneBefore,
                            qint64 total);

    std::atomic<bool> m_cancel{false};
    std::atomic<quint64> m_generation{0};
    CompareRequest m_request;

    // Set by the data row, read by the model rows (the job thread only).
    torch::Tensor m_real;     // `count` real images at the data's shape
    torch::Tensor m_heldOut;  // other real images for the distances
    torch::Tensor m_heldOutFeatures;
    struct ClassifierBox;
    std::shared_ptr<ClassifierBox> m_classifier;
};

}  // namespace le

Q_DECLARE_METATYPE(le::CompareRow)
