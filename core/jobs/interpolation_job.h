#pragma once

// Interpolation for the GUI: two endpoint images, every chosen model that can reach a latent for
// them (its encoder, Glow's exact flow, the VQ-VAE's continuous embedding space, a GAN's trained
// encoder or inversion by optimisation), a path of frames by lerp or slerp, decoded. Runs in its
// own thread and hands back one strip of 8-bit frames per model; cancel() stops it between steps.

#include "models/generative_model.h"

#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QThread>

#include <opencv2/core.hpp>

#include <atomic>
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

// `frames` latents from a to b (1-D tensors of the same size), endpoints included: straight
// lines (lerp) or great circles scaled between the two norms (slerp; lerp when the two are
// nearly parallel).
torch::Tensor interpolateLatents(const torch::Tensor& a, const torch::Tensor& b, int frames,
                                 bool slerp);

class InterpolationJob final : public QThread {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(InterpolationJob)

public:
    explicit InterpolationJob(QObject* parent = nullptr);
    ~InterpolationJob() override;  // cancel and wait

    // Thread-safe. Cancels a job in progress and starts this one; returns its generation.
    quint64 begin(const InterpolationRequest& request);
    void cancel();

    // How a model reaches latents ("" when it cannot): for the GUI's labels and filter.
    static QString methodFor(const Capabilities& capabilities, const QString& family);

signals:
    void progress(quint64 generation, int modelIndex, qint64 step, qint64 total);
    void strip(quint64 generation, int modelIndex, const le::InterpolationStrip& result);
    void jobFinished(quint64 generation, bool cancelled);

protected:
    void run() override;

private:
    InterpolationStrip interpolateOne(const QString& path, const InterpolationRequest& request,
                                      int modelIndex, quint64 generation);

    std::atomic<bool> m_cancel{false};
    std::atomic<quint64> m_generation{0};
    InterpolationRequest m_request;  // read by the thread; written only while it is stopped
};

}  // namespace le

Q_DECLARE_METATYPE(le::InterpolationStrip)
