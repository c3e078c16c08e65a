#pragma once

// The speed suite's shared pieces: the run's context (options, the models it measures, the data it
// trains on), percentile summaries, and the suites themselves, each returning its part of the one
// JSON object that `latent-explorer-bench --json FILE` writes.

#include "core/data/dataset.h"
#include "core/threads.h"

#include <QJsonObject>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

namespace le::bench {

// One checkpoint the suite measures: a shipped one, or (when a family ships none yet) a
// default-config model of that family, untrained, saved to the run's temporary folder.
struct BenchModel {
    QString family;
    QString checkpoint;
    QString dataset;
    bool shipped = false;
    bool canDecode = false;
    bool autoregressive = false;
    QString label() const;  // "vae_fashion-mnist" or "glow (default config, untrained)"
};

struct Context {
    bool quick = false;
    QString device = QStringLiteral("cpu");
    QString pretrainedDir;
    QString python;           // the interpreter that runs the references (python3-torch)
    QString referenceScript;  // bench/reference_train.py
    QString selfPath;         // this executable, for the probes run in fresh processes
    QString guiPath;          // latent-explorer, when built: its own peak memory is measured too
    QString tempDir;
    ThreadSettings threads;
    std::vector<BenchModel> models;
    double matmulGflops = 0;    // the machine's dense ceiling, once measured
    QStringList trainFamilies;  // --families: a subset for the training suite
    double trainSeconds = 0;    // --train-seconds: the C++ side's time per family (0: default)

    // The training split of Fashion-MNIST, loaded once (a limited split with --quick).
    const Dataset& trainingData();
    int64_t trainingImages() const { return quick ? 10000 : 0; }  // 0: all 60 000
    // Checkpoints of a family, shipped ones first; the fallback when none is shipped.
    std::vector<BenchModel> modelsOf(const QString& family) const;
    // The PixelCNN the "full 28×28 sample" is about: Fashion-MNIST's when shipped, else
    // the first one found.
    BenchModel samplingPixelCnn() const;
    // A fresh process of this executable or the reference inherits these thread settings.
    QProcessEnvironment childEnvironment() const;

private:
    std::shared_ptr<Dataset> m_training;
};

// Finds the shipped generative checkpoints (classifier_*.lec skipped) and saves a default-config
// model for every family that ships none.
void collectModels(Context& context);

struct Summary {
    int count = 0;
    double p50 = 0, p99 = 0, mean = 0, max = 0;
};
Summary summarize(std::vector<double> values);  // nearest-rank percentiles
QJsonObject toJson(const Summary& s);

using Clock = std::chrono::steady_clock;
inline double msSince(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Runs a program to completion; its stdout, or nullopt (with the reason on stderr) on failure.
std::optional<QByteArray> runProcess(const QString& program, const QStringList& arguments,
                                     const QProcessEnvironment& environment, int timeoutS);
// The last line of a process's output that parses as a JSON object.
QJsonObject lastJsonLine(const QByteArray& output);

// Peak resident memory (VmHWM) of this process, MiB.
double peakRssMib();

// The suites. Each logs its progress on stderr and returns its keys of the result.
QJsonObject benchDecode(Context& context);        // decode_p99_ms, decode
QJsonObject benchDrag(Context& context);          // drag_p99_ms, drag
QJsonObject benchStall(Context& context);         // gui_stall_p99_ms, gui_stall
QJsonObject benchTraining(Context& context);      // train_ratio, training
QJsonObject benchPixelCnn(Context& context);      // pixelcnn_sample_s, pixelcnn_cached_speedup, ...
QJsonObject benchGlow(Context& context);          // glow_roundtrip_max_abs, glow
QJsonObject benchMatmul(Context& context);        // matmul_gflops, matmul
QJsonObject benchThreads(Context& context);       // threads
QJsonObject benchMemory(Context& context);        // peak_rss_mib, memory
QJsonObject machineInfo(const Context& context);  // machine

// Probes: run in a fresh process of this executable (its own thread pools, its own peak memory)
// and print one JSON line.
int probeThreads(Context& context);
int probeMemory(Context& context);

// Dense matrix product throughput at the current thread settings, GFLOP/s (best of `repeats`).
double matmulGflops(int64_t n, int repeats);
// Training throughput of the C++ trainer over `seconds` (at least minSteps), images per second.
struct TrainMeasure {
    double imagesPerSecond = 0;
    int64_t steps = 0;  // measured steps, after the warm-up
    double seconds = 0;
    int threads = 0;  // LibTorch threads the trainer ran on (the model's trainingThreads)
};
TrainMeasure measureTrainer(Context& context, const QString& family, int64_t batch, int64_t warmup,
                            double seconds, int64_t minSteps, int64_t exactSteps);

void logLine(const QString& text);

}  // namespace le::bench
