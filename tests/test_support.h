#pragma once

// Small helpers shared by the tests: a VAE configuration small enough to build and save quickly,
// shuffled training batches the way the trainer draws them, and a child process run to its end.

#include "models/generative_model.h"

#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QStringList>

#include <cmath>
#include <memory>

namespace le::test {

// A finished child process: its exit code (-1 when a signal ended it or the time ran out) and its
// output.
struct ProcessRun {
    int code = -1;
    QByteArray out, err;
};

inline ProcessRun runProcess(const QString& program, const QStringList& args, int timeoutMs) {
    QProcess p;
    p.start(program, args);
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
    }
    ProcessRun r;
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

inline ModelConfig smallVaeConfig(int64_t latent = 8, int64_t channels = 1, int64_t size = 28) {
    ModelConfig config;
    config.set("latent", latent);
    config.set("hidden", int64_t{8});
    writeImageShape(config, ImageShape{channels, size, size});
    return config;
}

inline std::unique_ptr<GenerativeModel> smallVae(int64_t latent = 8, int64_t channels = 1,
                                                 int64_t size = 28) {
    return ModelRegistry::instance().create("vae", smallVaeConfig(latent, channels, size));
}

// Minibatches of `images` in a random order, reshuffled when too few are left for a batch.
class BatchStream {
public:
    BatchStream(torch::Tensor images, int64_t batch)
        : m_images(std::move(images)), m_batch(batch) {}

    torch::Tensor next() {
        if (!m_order.defined() || m_cursor + m_batch > m_images.size(0)) {
            m_order = torch::randperm(m_images.size(0));
            m_cursor = 0;
        }
        const torch::Tensor rows = m_order.slice(0, m_cursor, m_cursor + m_batch);
        m_cursor += m_batch;
        return m_images.index_select(0, rows);
    }

private:
    torch::Tensor m_images;
    int64_t m_batch;
    torch::Tensor m_order;
    int64_t m_cursor = 0;
};

// Up to `steps` training steps on shuffled batches; stops after the first step whose loss is not
// finite. Returns the last step's metrics (none for no steps).
inline Metrics trainSteps(GenerativeModel& model, const torch::Tensor& images, int steps,
                          int64_t batch) {
    BatchStream stream(images, batch);
    Metrics last;
    for (int step = 0; step < steps; ++step) {
        last = model.trainStep(stream.next());
        if (!std::isfinite(last.at("loss"))) break;
    }
    return last;
}

// Whether the metrics' loss, if any, is finite.
inline bool finiteLoss(const Metrics& m) {
    const auto it = m.find("loss");
    return it == m.end() || std::isfinite(it->second);
}

}  // namespace le::test
