#pragma once

// One temperature for every family, over a synchronised sample grid: rows are the models of a
// dataset, columns the same K sample indices of one seed (or, in a sweep, the same K samples at
// several temperatures). What T means per family (GenerativeModel::sample):
//   VAE      z ~ N(0, T²·I): T scales the prior's σ
//   DCGAN    z = T·ε: the "truncation ψ" trick, every latent pulled toward the prior's mean (0)
//   Glow     ε scaled by T at every level, inside each level's (conditional) prior
//   PixelCNN softmax(logits / T) at every position
//   VQ-VAE   the same, in the PixelCNN prior over its code grid
// A seed fixes the noise, so T alone moves the samples. Latest request wins: a new request (a
// slider move) aborts the running one between models or between autoregressive steps, like
// Qt's Mandelbrot render thread. Fast families (one decode) go first; autoregressive ones step
// their whole batch at once and report partial images as they fill.

#include "models/generative_model.h"

#include <QMetaType>
#include <QMutex>
#include <QString>
#include <QStringList>
#include <QThread>
#include <QWaitCondition>

#include <opencv2/core.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace le {

// The sweep's columns: the same seed at each of these temperatures.
std::vector<double> sweepTemperatures();

// What T means for a family, one short line ("softmax(logits / T) at every pixel").
QString temperatureMeaning(const QString& family);

// Called every few autoregressive steps with the partial images (unfilled positions 0, i.e. mid
// grey) and the steps done; return false to stop early.
using PartialSamples =
    std::function<bool(const torch::Tensor& images, int64_t done, int64_t total)>;

// Exactly model.sample(count, temperature, seed), except that a PixelCNN or VQ-VAE steps its
// whole batch here so that `partial` sees it fill in (every image row of positions) and can stop
// it. Returns an undefined tensor when `partial` stopped it. Call in the thread that owns the
// model (the no-grad guard is thread-local).
torch::Tensor sampleProgressively(GenerativeModel& model, int64_t count, double temperature,
                                  uint64_t seed, const PartialSamples& partial = {});

struct TemperatureRequest {
    QStringList checkpoints;           // the rows
    std::vector<double> temperatures;  // the columns: one (the grid) or sweepTemperatures()
    int count = 8;                     // K samples per cell: indices 0..K-1 of the one seed
    quint64 seed = 1;                  // the same for every row and every temperature
    int tileColumns = 4;               // how `tile` lays out the K samples
    QString device = QStringLiteral("cpu");
};

// One model at one temperature: K samples, finished or partly filled.
struct TemperatureCell {
    int row = 0;     // index into the request's checkpoints
    int column = 0;  // index into the request's temperatures
    double temperature = 1.0;
    QString checkpointPath;
    QString family;
    QString title;                         // "PixelCNN · faces"
    std::vector<cv::Mat> images;           // K 8-bit images (grey or RGB), sample index order
    cv::Mat tile;                          // the same images tiled `tileColumns` wide
    qint64 stepsDone = 1, totalSteps = 1;  // positions filled for an autoregressive family
    bool complete = false;
    double ms = 0;  // time spent sampling this cell so far
    QString error;
};

class TemperatureGridJob final : public QThread {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TemperatureGridJob)

public:
    explicit TemperatureGridJob(QObject* parent = nullptr);
    ~TemperatureGridJob() override;  // abort, wake and wait

    // Thread-safe and never blocks: replaces any pending or running request; returns its
    // generation (results of older generations are stale).
    quint64 request(const TemperatureRequest& request);
    // Stops the running request between steps (jobFinished with cancelled = true).
    void cancel();

signals:
    // done/total in thousandths of a cell over all cells of the request.
    void progress(quint64 generation, qint64 done, qint64 total, const QString& what);
    void cellReady(quint64 generation, const le::TemperatureCell& cell);
    void jobFinished(quint64 generation, bool cancelled, const QString& error);

protected:
    void run() override;

private:
    bool superseded() const { return m_restart.load() || m_quit.load(); }
    void process(const TemperatureRequest& request, quint64 generation);
    GenerativeModel* model(const QString& path, torch::Device device, QString* title);

    QMutex m_mutex;
    QWaitCondition m_wake;
    TemperatureRequest m_request;  // guarded by m_mutex
    bool m_pending = false;        // guarded by m_mutex
    quint64 m_generation = 0;      // guarded by m_mutex
    std::atomic<bool> m_restart{false};
    std::atomic<bool> m_quit{false};

    // The job thread only: loaded checkpoints by (path, device), kept while requested.
    struct Loaded;
    std::map<QString, std::shared_ptr<Loaded>> m_models;
};

}  // namespace le

Q_DECLARE_METATYPE(le::TemperatureCell)
