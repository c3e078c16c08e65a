#pragma once

// Inversion for the GUI: one image, every chosen model that can invert it, each by its own route
// (core/latent/inversion.h). Reports the optimiser's steps and live images of the slow route and
// one outcome per model as 8-bit images and plain numbers.

#include "core/autoregressive/entropy_grid.h"
#include "core/jobs/model_job.h"

#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

#include <opencv2/core.hpp>

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
    QString method;          // the route's name: "encoder", "exact flow", "code grid", ...
    cv::Mat input;           // what the model saw (fitted)
    cv::Mat reconstruction;  // 8-bit, the model's shape
    cv::Mat errorMap;        // RGB heat map of the per-pixel absolute error (inferno)
    cv::Mat codeGrid;        // code-grid route: the codes as a coloured grid at image size
    QVector<int> codes;      // code-grid route: row-major codeRows×codeCols; else empty
    int codeRows = 0, codeCols = 0;
    std::vector<CellGrid> codeLevels;  // code-grid route: the levels packed in the grid
    double mse = 0;                    // per pixel on the [-1, 1] scale
    double sharpness = 0;              // variance of the Laplacian of the reconstruction
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

class InversionJob final : public RequestJob<InversionRequest> {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(InversionJob)

public:
    explicit InversionJob(QObject* parent = nullptr);
    ~InversionJob() override;

    // Thread-safe, never waits: replaces the running request. Returns its generation.
    quint64 begin(const InversionRequest& request);

signals:
    // Every optimiser step of model `modelIndex`: its best error so far.
    void optimisationStep(quint64 generation, int modelIndex, qint64 step, qint64 total,
                          double bestError);
    void live(quint64 generation, int modelIndex, const le::InversionLive& live);
    void outcome(quint64 generation, int modelIndex, const le::InversionOutcome& result);

private:
    void process(quint64 generation) override;
    InversionOutcome invertOne(int modelIndex, quint64 generation);
};

}  // namespace le

Q_DECLARE_METATYPE(le::InversionOutcome)
Q_DECLARE_METATYPE(le::InversionLive)
