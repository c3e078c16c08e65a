#pragma once

// Autoregressive stepping for the GUI: PixelCNN pixels or VQ-VAE prior codes, one position at a
// time, in its own thread. A compute loop in the manner of Qt's Mandelbrot example: commands
// (play, pause, step, step a row, run to the end, restart, branch, switch) set flags or queue a
// job under one mutex and wake the loop; the loop steps every completion, reports each step as
// plain values and 8-bit images, and waits between steps while playing. Nothing here ever blocks
// the caller.
//
// Branches. A run can be rewound to any earlier cell (pixel or code) and resampled from there with
// another seed or temperature, keeping the original: branch() makes a new sampler whose first
// cells are anchored to the source's values (together with the user's anchors) and replays them,
// fast, in this thread, so the stepper's state at the fork is exactly the source's; its random
// stream starts fresh from the branch's seed at the fork. Every branch keeps its own samplers
// (generator included), so switching back continues exactly where it was left.

#include "core/autoregressive/entropy_grid.h"
#include "core/storage/model_cache.h"
#include "models/generative_model.h"

#include <QMetaType>
#include <QMutex>
#include <QString>
#include <QThread>
#include <QVector>
#include <QWaitCondition>

#include <opencv2/core.hpp>

#include <deque>
#include <map>
#include <memory>
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
    // Steps to sample at once after the start, before the first report, as a replay: a restored
    // run brought back to where it was (the same seeds give the same values). 0: none.
    qint64 steps = 0;
};

// The state of every completion at one moment of a run, recorded for the video: a frame every
// few cells (about kVideoFrames per run) and one at the end.
struct AutoregressiveFrame {
    qint64 stepsDone = 0;
    QVector<cv::Mat> images;  // 8-bit grey or RGB, one per completion
};

// One step as the GUI sees it; about completion 0 except `images` and `frames`.
struct AutoregressiveStep {
    quint64 generation = 0;  // which request it answers; older ones are stale
    quint64 branch = 0;      // the branch it belongs to (the id restart() or branch() returned)
    QString family;
    QString valueName = QStringLiteral("value");  // what a position holds: "value", "code"
    qint64 position = -1;                         // -1: the state before any step
    qint64 stepsDone = 0;
    qint64 totalSteps = 0;
    int channel = 0, row = 0, col = 0;
    int gridWidth = 0, gridHeight = 0;  // positions per row and rows (pixels or code cells)
    int cellSize = 1;                   // image pixels per grid cell (4 for VQ-VAE codes)
    int channels = 1;                   // values per position
    // The grids the positions fill, in order (one; a VQ-VAE-2's top then bottom grid): position p
    // of the gridWidth-wide packed grid lies in grids[gridOf(grids, p)].
    std::vector<CellGrid> grids;
    std::vector<float> distribution;  // the predicted distribution; empty when anchored
    int value = -1;                   // the sampled or anchored value
    bool anchored = false;
    QVector<cv::Mat> images;  // the current state of every completion, 8-bit grey or RGB
    // Predictive entropy in bits of each step done so far (completion 0), NaN where anchored.
    // A branch inherits the entries of its source before the fork.
    std::vector<float> entropyBits;
    std::vector<AutoregressiveFrame> frames;  // recorded since the previous report
    double msPerStep = 0;  // model time of the last step, all completions together
    bool done = false;
};

class AutoregressiveSession final : public QThread {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AutoregressiveSession)

public:
    static constexpr int kVideoFrames = 96;  // frames recorded per full run, about

    explicit AutoregressiveSession(QObject* parent = nullptr);
    ~AutoregressiveSession() override;  // abort, wake, wait

    // Thread-safe, non-blocking. Restart replaces any sampling in progress and forgets every
    // branch; it returns the new generation, which is also the id of the run's first branch.
    quint64 restart(const AutoregressiveSetup& setup);
    // A new branch of `source` that keeps its first `forkCells` cells (pixels or codes, every
    // channel) and samples the rest with `seed` (completion i: seed + i) and `temperature`. It
    // becomes current and replays the kept cells at once (stop it like a run); the source is kept.
    // Returns the new generation, which is the new branch's id. A source that is gone or has fewer
    // cells filled is reported through failed(). `steps` > 0: the branch instead samples at once
    // until that many steps are done (its fork's replay included) and reports once, paused: a
    // restored branch.
    quint64 branch(quint64 source, qint64 forkCells, quint64 seed, double temperature,
                   qint64 steps = 0);
    // Makes a kept branch current again (paused); answers with a report of its state.
    quint64 switchTo(quint64 branch);
    // Drops a branch that is not current (its memory); unknown ids are ignored.
    void forget(quint64 branch);
    void play();
    void pause();
    void stepOnce();
    void stepRow();
    void runToEnd();
    void setStepsPerSecond(double stepsPerSecond);  // while playing
    bool isBusy() const;                            // playing, stepping or replaying

signals:
    void stepped(const le::AutoregressiveStep& step);
    // A request failed (bad checkpoint, family without stepping, anchors that do not fit, a branch
    // of a source that is gone).
    void failed(quint64 generation, const QString& message);
    void stopped();  // paused, finished or a step batch done

protected:
    void run() override;

private:
    enum class Mode { Paused, Playing, Steps, ToEnd, Replay };
    struct Sampling;
    struct Job {
        enum Kind { Restart, Branch, Switch, Forget } kind = Restart;
        quint64 generation = 0;
        AutoregressiveSetup setup;  // Restart
        quint64 branch = 0;         // Branch: the source; Switch, Forget: the branch
        qint64 forkCells = 0;
        quint64 seed = 1;
        double temperature = 1.0;
        qint64 steps = 0;  // Branch: steps to reach at once
    };

    void command(Mode mode, qint64 steps);
    void runJob(const Job& job);
    void startSampling(const AutoregressiveSetup& setup, quint64 generation);
    void startBranch(const Job& job);
    void switchBranch(const Job& job);
    void park();
    void sampleTo(qint64 steps);
    bool interrupted() const;
    void stepAll();
    AutoregressiveStep describe();
    const QVector<cv::Mat>& currentImages();
    void recordFrame(bool force);

    mutable QMutex m_mutex;
    QWaitCondition m_wake;
    bool m_abort = false;
    std::deque<Job> m_jobs;
    bool m_inJob = false;
    Mode m_mode = Mode::Paused;
    qint64 m_stepsLeft = 0;
    double m_stepsPerSecond = 30;
    quint64 m_generation = 0;

    // Loop thread only.
    std::unique_ptr<Sampling> m_sampling;
    std::map<quint64, std::unique_ptr<Sampling>> m_parked;  // the other branches, by id
    ModelCache m_models;                                    // the session thread's
    bool m_unreported = false;  // the last step's state has not reached the GUI yet
};

void registerAutoregressiveMetaTypes();

}  // namespace le

Q_DECLARE_METATYPE(le::AutoregressiveStep)
