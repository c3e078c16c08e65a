#pragma once

// Inversion for the GUI: one image, every chosen model that can invert it, each by its own route
// (encoder and decoder for a VAE, the exact flow for Glow, the code grid for a VQ-VAE,
// optimisation of z for a GAN). Runs in its own thread, reports progress of the slow routes and
// one outcome per model as 8-bit images and plain numbers; cancel() stops it between steps.

#include "models/generative_model.h"

#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QThread>
#include <QVector>

#include <opencv2/core.hpp>

#include <atomic>

namespace le {

struct InversionRequest {
    QStringList checkpoints;
    cv::Mat image;  // 8-bit grey or RGB, any size: fitted to each model's shape
    QString device = QStringLiteral("cpu");
    int optimisationSteps = 300;  // GAN: optimiser steps per start
    int starts = 2;               // GAN: random starts (plus the encoder's guess where trained)
    quint64 seed = 1;
};

struct InversionOutcome {
    QString checkpointPath;
    QString family;
    QString method;          // "encoder", "exact flow", "code grid", "optimisation"
    cv::Mat input;           // what the model saw (fitted)
    cv::Mat reconstruction;  // 8-bit, the model's shape
    cv::Mat errorMap;        // RGB heat map of the per-pixel absolute error (inferno)
    cv::Mat codeGrid;        // VQ-VAE: the codes as a coloured grid at image size; else empty
    QVector<int> codes;      // VQ-VAE: the code grid, row-major codeRows×codeCols; else empty
    int codeRows = 0, codeCols = 0;
    double mse = 0;        // per pixel on the [-1, 1] scale
    double sharpness = 0;  // variance of the Laplacian of the reconstruction
    double inputSharpness = 0;
    double ms = 0;  // wall time of this model's inversion
    qint64 steps = 0;
    bool cancelled = false;
    QString error;  // this model could not invert (the others still run)
};

// A GAN's optimisation as it runs: the decode of its best latent so far, at most ~14 times a
// second (decoded in the job's thread).
struct InversionLive {
    qint64 step = 0, totalSteps = 0;
    double bestError = 0;
    cv::Mat image;  // 8-bit, the model's shape
};

class InversionJob final : public QThread {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(InversionJob)

public:
    explicit InversionJob(QObject* parent = nullptr);
    ~InversionJob() override;  // cancel and wait

    // Thread-safe. Cancels a job in progress (its results are dropped by generation) and starts
    // this one once it has stopped. Returns the new generation.
    quint64 begin(const InversionRequest& request);
    void cancel();

    // Which route a family's capabilities give ("" when none): for the GUI's labels.
    static QString methodFor(const Capabilities& capabilities, const QString& family);

signals:
    void progress(quint64 generation, int modelIndex, qint64 step, qint64 total, double bestError);
    void live(quint64 generation, int modelIndex, const le::InversionLive& live);
    void outcome(quint64 generation, int modelIndex, const le::InversionOutcome& result);
    void jobFinished(quint64 generation, bool cancelled);

protected:
    void run() override;

private:
    InversionOutcome invertOne(const QString& path, const InversionRequest& request, int modelIndex,
                               quint64 generation);

    std::atomic<bool> m_cancel{false};
    std::atomic<quint64> m_generation{0};
    InversionRequest m_request;  // read by the thread; written only while it is stopped
};

void registerInversionMetaTypes();

}  // namespace le

Q_DECLARE_METATYPE(le::InversionOutcome)
Q_DECLARE_METATYPE(le::InversionLive)
