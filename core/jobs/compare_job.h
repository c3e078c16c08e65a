#pragma once

// Compare, blurriness against sharpness: the same number of samples from every chosen model (the
// same seed) beside real test images, measured as the CLI's `eval` measures them
// (core/latent/sample_quality.h): sharpness and high-frequency energy as ratios to the data's, the
// classifier-feature Fréchet distance with its floor; reconstruction error, and the same distance
// for the reconstructions, where the model encodes; bits per dimension where its likelihood is
// exact; the time per sample.

#include "core/jobs/model_job.h"

#include <QMetaType>
#include <QString>
#include <QStringList>

#include <opencv2/core.hpp>

#include <limits>
#include <vector>

namespace le {

struct CompareRequest {
    QString dataset;  // "fashion-mnist", "faces", ...: the real images and the classifier
    QStringList checkpoints;
    int count = 64;  // samples per model, and real images in the data row
    quint64 seed = 1;
    double temperature = 0;  // 0: each family's own (GenerativeModel::defaultTemperature)
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
    double temperature = kNone;  // what the samples were drawn at
    double sharpness = kNone;
    double sharpnessRatio = kNone;  // to the data's
    double highFrequency = kNone;   // share of spectral power in the outer half of the radii
    double highFrequencyRatio = kNone;
    double reconstructionMse = kNone;  // encode + decode of the real images, per pixel on [-1, 1]
    double bitsPerDim = kNone;         // exact likelihoods only (Glow, PixelCNN)
    double classifierFd = kNone;       // for the data row: the floor, real against real
    // The real images' reconstructions against the same held-out images: how close decoding
    // alone comes, so that classifierFd splits into what the decoder loses and the prior adds.
    double reconstructionFd = kNone;
    double msPerSample = kNone;
    QString error;  // why the row has no samples, or why a number is missing
};

// The lecture's claim, tested on the rows: VAEs blurrier than the data, GANs sharper than VAEs.
// Says which rows bear it out, in numbers, or why it cannot tell.
QString blurVerdict(const std::vector<CompareRow>& rows);
// The table as CSV, a header line and one line per row (RFC 4180 quoting).
QString compareCsv(const std::vector<CompareRow>& rows);

class CompareJob final : public RequestJob<CompareRequest> {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(CompareJob)

public:
    explicit CompareJob(QObject* parent = nullptr);
    ~CompareJob() override;

    // Thread-safe, never waits: replaces the running request. Returns its generation.
    quint64 begin(const CompareRequest& request) { return submitRequest(request); }

signals:
    // Row 0 is the data; model i is row i + 1. progress counts samples over every row.
    void rowReady(quint64 generation, int row, const le::CompareRow& result);

private:
    void process(quint64 generation) override;
};

}  // namespace le

Q_DECLARE_METATYPE(le::CompareRow)
