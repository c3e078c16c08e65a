// Responsiveness: how late a 5 ms timer on the GUI thread fires while a training run and a
// PixelCNN sampling job (the Autoregressive view's own session, running to the end over and over)
// share the cores in the background.

#include "bench.h"

#include "core/autoregressive/autoregressive_session.h"
#include "core/training/trainer.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QThread>
#include <QTimer>

#include <atomic>

namespace le::bench {

namespace {

constexpr int kTickMs = 5;

// The sampling job: restarted whenever it reaches the end, so it never idles.
class SamplingLoad {
public:
    explicit SamplingLoad(const QString& checkpoint) {
        registerAutoregressiveMetaTypes();
        m_setup.checkpointPath = checkpoint;
        QObject::connect(&m_session, &AutoregressiveSession::stepped, &m_context,
                         [this](const AutoregressiveStep& step) {
                             ++m_reports;
                             if (step.done) restart();
                         });
        QObject::connect(&m_session, &AutoregressiveSession::failed, &m_context,
                         [](quint64, const QString& message) {
                             logLine(QStringLiteral("sampling job failed: ") + message);
                         });
        restart();
    }
    int reports() const { return m_reports; }

private:
    void restart() {
        m_setup.seed += 1;
        m_session.restart(m_setup);
        m_session.runToEnd();
    }
    AutoregressiveSetup m_setup;
    AutoregressiveSession m_session;
    QObject m_context;
    int m_reports = 0;
};

}  // namespace

QJsonObject benchStall(Context& context) {
    const std::vector<BenchModel> samplers = context.modelsOf(QStringLiteral("pixelcnn"));
    const Dataset& data = context.trainingData();
    ModelConfig config;
    writeImageShape(config, data.shape);
    auto model = ModelRegistry::instance().create("vae", config);
    TrainOptions options;
    options.steps = 1000000;  // cancelled when the measurement ends
    options.batchSize = 64;
    options.evalImages = 64;
    Trainer trainer(*model, data, options);
    std::atomic<int> trainSteps{0};
    trainer.setProgressCallback([&](const TrainProgress& p) { trainSteps = int(p.step); });
    QThread* training = QThread::create([&trainer] {
        try {
            trainer.run();
        } catch (const std::exception& e) {
            logLine(QStringLiteral("training job failed: ") + e.what());
        }
    });
    training->start();
    SamplingLoad sampling(samplers.front().checkpoint);

    // Measure only once both jobs are running.
    QEventLoop settle;
    QTimer::singleShot(1000, &settle, &QEventLoop::quit);
    settle.exec();

    const double seconds = context.quick ? 3.0 : 15.0;
    logLine(QStringLiteral("GUI stall: %1 s with training and sampling in the background")
                .arg(seconds));
    std::vector<double> lateness;
    QEventLoop loop;
    QTimer tick;
    tick.setTimerType(Qt::PreciseTimer);
    const auto start = Clock::now();
    auto last = start;
    const int stepsBefore = trainSteps;
    const int reportsBefore = sampling.reports();
    QObject::connect(&tick, &QTimer::timeout, &loop, [&] {
        const auto now = Clock::now();
        const double interval = std::chrono::duration<double, std::milli>(now - last).count();
        lateness.push_back(std::max(0.0, interval - kTickMs));
        last = now;
        if (msSince(start) >= seconds * 1000.0) loop.quit();
    });
    tick.start(kTickMs);
    loop.exec();
    const int steps = trainSteps - stepsBefore;
    const int reports = sampling.reports() - reportsBefore;
    trainer.cancel();
    training->wait();
    delete training;

    const Summary s = summarize(lateness);
    QJsonObject detail = toJson(s);
    detail.insert("seconds", seconds);
    detail.insert("tick_ms", kTickMs);
    detail.insert("train_steps_during", steps);
    detail.insert("sampling_reports_during", reports);
    detail.insert("trainer", "vae (default config) on fashion-mnist, batch 64");
    detail.insert("sampler", samplers.front().label());
    return QJsonObject{{"gui_stall_p99_ms", s.p99}, {"gui_stall", detail}};
}

}  // namespace le::bench
