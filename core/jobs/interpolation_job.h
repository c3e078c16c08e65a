#pragma once

// Interpolation for the GUI: two endpoint images, every chosen model that can reach a latent for
// them, a path of frames by lerp or slerp, decoded (core/latent/interpolation.h: the CLI's
// `interpolate` draws the same frames). Hands back one strip of 8-bit frames per model.

#include "core/jobs/model_job.h"

#include <QMetaType>
#include <QString>
#include <QStringList>

#include <opencv2/core.hpp>

#include <vector>

namespace le {

struct InterpolationRequest {
    QStringList checkpoints;
    cv::Mat from, to;  // 8-bit grey or RGB, any size: fitted to each model's shape
    int frames = 8;    // including both endpoints, >= 2
    bool slerp = false;
    QString device = QStringLiteral("cpu");
    int inversionSteps = 150;  // GAN without an encoder: optimiser steps per start
    quint64 seed = 1;
};

struct InterpolationStrip {
    QString checkpointPath;
    QString family;
    QString method;               // "encoder", "exact flow", "embedding space", "inversion"
    std::vector<cv::Mat> frames;  // 8-bit, the model's shape
    double endpointMse = 0;       // how well the endpoints were reached, per pixel on [-1, 1]
    double ms = 0;                // wall time: both endpoints to latents, and every decode
    bool cancelled = false;
    QString error;  // this model could not interpolate (the others still run)
};

class InterpolationJob final : public RequestJob<InterpolationRequest> {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(InterpolationJob)

public:
    explicit InterpolationJob(QObject* parent = nullptr);
    ~InterpolationJob() override;

    // Thread-safe, never waits: replaces the running request. Returns its generation.
    quint64 begin(const InterpolationRequest& request);

signals:
    void strip(quint64 generation, int modelIndex, const le::InterpolationStrip& result);

private:
    void process(quint64 generation) override;
    InterpolationStrip interpolateOne(int modelIndex, quint64 generation);
};

}  // namespace le

Q_DECLARE_METATYPE(le::InterpolationStrip)
