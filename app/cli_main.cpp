// latent-explorer-cli: the same core as the GUI, headless.
// Exit codes: 0 success, 2 bad usage, 3 bad input data or files, 1 anything unexpected.

#include "core/data/datasets.h"
#include "core/data/faces.h"
#include "core/data/fashion_mnist.h"
#include "core/data/image_import.h"
#include "core/errors.h"
#include "core/imaging/image_io.h"
#include "core/interactive/engine.h"
#include "core/latent/interpolation.h"
#include "core/latent/inversion.h"
#include "core/latent/sample_quality.h"
#include "core/latent/sampling.h"
#include "core/metrics/classification.h"
#include "core/metrics/metrics.h"
#include "core/storage/checkpoint.h"
#include "core/threads.h"
#include "core/training/distributed.h"
#include "core/training/trainer.h"
#include "core/training/worker_launcher.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QThread>

#include <unistd.h>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

namespace {

using namespace le;

constexpr int kExitOk = 0;
constexpr int kExitUnexpected = 1;
constexpr int kExitUsage = 2;
constexpr int kExitBadInput = 3;

// Set by SIGINT or SIGTERM during `train`; read once a step. The handler then restores the
// default action, so a second Ctrl+C ends a run at once (its final evaluation included); it uses
// only async-signal-safe calls.
volatile std::sig_atomic_t g_stopRequested = 0;
extern "C" void requestStop(int) {
    g_stopRequested = 1;
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    static const char kMessage[] =
        "latent-explorer-cli: stopping after this step (evaluating and saving); "
        "press Ctrl+C again to stop at once\n";
    [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
}

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

const char* const kUsage =
    "Usage: latent-explorer-cli COMMAND [options]\n"
    "\n"
    "Commands:\n"
    "  datasets                          list the built-in datasets\n"
    "  train --model vae --dataset D --steps N|--epochs E --out CKPT\n"
    "        [--arch conv|mlp] [--latent N] [--beta B] [--batch B] [--lr LR] [--seed S]\n"
    "        [--set KEY=VALUE]... [--init CKPT [--init-fresh PREFIX]... [--init-step N]]\n"
    "        [--train-images N] [--run-dir DIR]\n"
    "        [--device auto|cpu|cuda] [--checkpoint-every N] [--nproc N] [--peer-timeout S]\n"
    "        (--nproc N: N data-parallel workers, --batch images each; or torchrun's RANK,\n"
    "        WORLD_SIZE, MASTER_ADDR, MASTER_PORT in the environment of one worker per machine)\n"
    "  train-classifier --dataset D --steps N --out FILE [--seed S] [--batch B] [--lr LR]\n"
    "  train-encoder --checkpoint CKPT --steps N [--out CKPT2] [--batch B] [--seed S]   (dcgan)\n"
    "  eval --checkpoint CKPT [--split test|train] [--images N] [--samples N] [--seed S]\n"
    "        [--classifier FILE] [--dataset D] [--temperature T] [--held-out N]\n"
    "  sample --checkpoint CKPT --count N --out PNG [--temperature T] [--seed S]\n"
    "  encode --checkpoint CKPT --image FILE\n"
    "  invert --checkpoint CKPT --image FILE --out PNG [--steps N] [--starts S] [--seed S]\n"
    "  decode --checkpoint CKPT --latent v1,v2,... --out PNG\n"
    "  interpolate --checkpoint CKPT --from A --to B --frames N --out PNG [--slerp]\n"
    "        [--steps N] [--starts S] [--seed S]   (a GAN reaches its endpoints by inversion)\n"
    "  info --checkpoint CKPT\n"
    "\n"
    "Datasets: fashion-mnist, faces (32x32 RGB), faces64 (64x64 RGB), or a folder/file of images.\n"
    "CKPT: a .lec checkpoint, or a TorchScript model file (docs/torchscript.md).\n"
    "Every command takes --json (machine-readable output) and --device.\n";

void printJson(const QJsonObject& json) {
    std::cout << QJsonDocument(json).toJson(QJsonDocument::Indented).toStdString();
}

// Parses options after the command word; unknown options are a usage error.
struct Args {
    QCommandLineParser parser;

    Args(const QStringList& arguments, const QList<QCommandLineOption>& options) {
        parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
        parser.addOptions(options);
        parser.addOption({"json", "Machine-readable output."});
        parser.addOption({"device", "auto, cpu or cuda.", "device", "auto"});
        if (!parser.parse(arguments)) throw UsageError(parser.errorText().toStdString());
        if (!parser.positionalArguments().isEmpty())
            throw UsageError("unexpected argument: " +
                             parser.positionalArguments().first().toStdString());
        device();  // an impossible device is refused before any work
    }

    bool json() const { return parser.isSet("json"); }
    bool has(const QString& name) const { return parser.isSet(name); }
    QString text(const QString& name) const { return parser.value(name); }

    QString required(const QString& name) const {
        if (!parser.isSet(name)) throw UsageError("missing --" + name.toStdString());
        return parser.value(name);
    }

    qint64 integer(const QString& name, qint64 fallback, qint64 min, qint64 max) const {
        if (!parser.isSet(name)) return fallback;
        bool ok = false;
        const qint64 v = parser.value(name).toLongLong(&ok);
        if (!ok || v < min || v > max)
            throw UsageError(QStringLiteral("--%1 must be an integer in %2..%3, got '%4'")
                                 .arg(name)
                                 .arg(min)
                                 .arg(max)
                                 .arg(parser.value(name))
                                 .toStdString());
        return v;
    }

    double number(const QString& name, double fallback) const {
        if (!parser.isSet(name)) return fallback;
        bool ok = false;
        const double v = parser.value(name).toDouble(&ok);
        if (!ok || !std::isfinite(v))
            throw UsageError(QStringLiteral("--%1 must be a number, got '%2'")
                                 .arg(name, parser.value(name))
                                 .toStdString());
        return v;
    }

    torch::Device device() const { return parseDevice(text("device").toStdString()); }
};

QCommandLineOption opt(const QString& name, const QString& help, const QString& value = {}) {
    return value.isEmpty() ? QCommandLineOption(name, help) : QCommandLineOption(name, help, value);
}

// trainImages: 0 for the dataset's own training split; procedural faces render that many instead,
// Fashion-MNIST keeps at most that many. The test split never changes.
Dataset loadTrainingData(const QString& name, const ImageShape& fallbackShape,
                         qint64 trainImages = 0) {
    return loadDatasetByName(name, /*withTrain=*/true, trainImages, 0, fallbackShape);
}

// A progress bar on a terminal, nothing otherwise (logs and pipes stay clean).
class ProgressBar {
public:
    explicit ProgressBar(bool enabled) : m_enabled(enabled && isatty(STDERR_FILENO)) {}
    void update(const TrainProgress& p) {
        if (!m_enabled || (p.step % 5 != 0 && p.step != p.totalSteps)) return;
        const int width = 30;
        const int filled = int(width * p.step / std::max<qint64>(1, p.totalSteps));
        const double eta = p.elapsedS / double(p.step) * double(p.totalSteps - p.step);
        std::fprintf(stderr, "\r[%s%s] %lld/%lld loss %.4g  %.0f img/s  ETA %.0fs ",
                     std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                     static_cast<long long>(p.step), static_cast<long long>(p.totalSteps),
                     p.train.count("loss") ? p.train.at("loss") : 0.0, p.imagesPerSecond, eta);
        std::fflush(stderr);
    }
    ~ProgressBar() {
        if (m_enabled) std::fprintf(stderr, "\n");
    }

private:
    bool m_enabled;
};

int cmdDatasets(const QStringList& arguments) {
    Args args(arguments, {});
    QJsonArray list;
    const QString fashionDir = defaultFashionMnistDir();
    const bool fashionPresent = QFileInfo::exists(fashionDir + "/train-images-idx3-ubyte.gz");
    list.append(QJsonObject{{"name", "fashion-mnist"},
                            {"shape", "1x28x28"},
                            {"train", 60000},
                            {"test", 10000},
                            {"available", fashionPresent},
                            {"path", fashionDir}});
    const FaceDatasetOptions faces;
    list.append(QJsonObject{{"name", "faces"},
                            {"shape", "3x32x32"},
                            {"train", qint64(faces.trainCount)},
                            {"test", qint64(faces.testCount)},
                            {"available", true},
                            {"path", "procedural"}});
    list.append(QJsonObject{{"name", "faces64"},
                            {"shape", "3x64x64"},
                            {"train", qint64(faces.trainCount)},
                            {"test", qint64(faces.testCount)},
                            {"available", true},
                            {"path", "procedural"}});
    if (args.json()) {
        printJson(QJsonObject{{"datasets", list}});
    } else {
        for (const auto& entry : list) {
            const QJsonObject d = entry.toObject();
            std::cout << d["name"].toString().toStdString() << "\t"
                      << d["shape"].toString().toStdString() << "\ttrain " << d["train"].toInteger()
                      << "\ttest " << d["test"].toInteger()
                      << (d["available"].toBool() ? ""
                                                  : "\t(missing: install dataset-fashion-mnist)")
                      << "\n";
        }
    }
    return kExitOk;
}

// Where a data-parallel run that failed leaves its checkpoint, for the error message.
QString checkpointLeft(const QString& path, const QDateTime& runStarted) {
    const QFileInfo info(path);
    if (!info.exists() || info.lastModified() < runStarted)
        return QStringLiteral("this run wrote no checkpoint");
    try {
        const CheckpointHeader header = readCheckpointHeader(path);
        return QStringLiteral("the last checkpoint, %1 (step %2), is kept")
            .arg(path)
            .arg(header.steps);
    } catch (const std::exception& e) {
        return QStringLiteral("the checkpoint %1 cannot be read: %2")
            .arg(path, QString::fromLocal8Bit(e.what()));
    }
}

// train --nproc N: runs N workers of this same command on this machine (each finds its place in
// the environment the launcher gives it) and reports the first that fails.
int launchTrainingWorkers(const QStringList& arguments, int workers, const QString& checkpoint) {
    const QDateTime started = QDateTime::currentDateTime();
    WorkerLaunch launch;
    launch.program = QCoreApplication::applicationFilePath();
    launch.arguments = arguments;  // "train" and its options, --nproc included
    launch.workers = workers;
    launch.threadsPerWorker = std::max(1, QThread::idealThreadCount() / workers);
    const LaunchOutcome outcome = runWorkers(launch);
    if (outcome.exitCode != 0)
        std::cerr << "latent-explorer-cli: error: " << outcome.failure.toStdString()
                  << "; the other workers were stopped; "
                  << checkpointLeft(checkpoint, started).toStdString() << "\n";
    return outcome.exitCode;
}

int cmdTrain(const QStringList& arguments) {
    Args args(
        arguments,
        {opt("model", "Family.", "family"),
         opt("arch", "Architecture.", "arch"),
         opt("latent", "Latent size.", "n"),
         opt("beta", "KL weight.", "b"),
         opt("hidden", "Hidden width.", "n"),
         opt("dataset", "Dataset.", "name"),
         opt("steps", "Steps.", "n"),
         opt("epochs", "Epochs.", "n"),
         opt("batch", "Batch size.", "n"),
         opt("lr", "Learning rate.", "lr"),
         opt("seed", "Seed.", "s"),
         opt("out", "Checkpoint.", "file"),
         opt("run-dir", "Run folder.", "dir"),
         opt("snapshot-every", "Sample grid period.", "n"),
         opt("eval-every", "Held-out evaluation period.", "n"),
         opt("set", "A family config key, KEY=VALUE (repeatable).", "key=value"),
         opt("init", "Start from this checkpoint's weights (fine-tune, or continue its schedule).",
             "file"),
         opt("init-fresh",
             "With --init: weights whose names start with this (e.g. prior.) start anew, and may "
             "change size (repeatable).",
             "prefix"),
         opt("init-step",
             "With --init: the step the schedule (and a VQ model's phase) goes on from; "
             "default: the checkpoint's.",
             "n"),
         opt("train-images", "Training images (procedural faces: render this many).", "n"),
         opt("checkpoint-every", "Checkpoint period in steps; 0: steps/10, at least 100.", "n"),
         opt("nproc", "Data-parallel workers to start on this machine.", "n"),
         opt("peer-timeout", "Data-parallel: seconds to wait for another worker.", "s")});
    const QString family = args.required("model");
    const QString datasetName = args.required("dataset");
    const QString out = args.required("out");
    if (args.has("steps") == args.has("epochs"))
        throw UsageError("give exactly one of --steps and --epochs");
    const qint64 batch = args.integer("batch", 64, 1, 4096);
    const quint64 seed = quint64(args.integer("seed", 1, 0, std::numeric_limits<qint64>::max()));
    const qint64 checkpointEvery = args.integer("checkpoint-every", 0, 0, 100000000);
    const std::chrono::seconds peerTimeout(
        args.integer("peer-timeout", kDefaultPeerTimeout.count(), 1, 86400));

    // Data-parallel: --nproc N launches N workers of this command; a worker (or one of a run
    // over machines) finds its place in torchrun's variables and joins the others.
    const int nproc = int(args.integer("nproc", 1, 1, 256));
    const std::optional<WorkerPlace> place = workerPlaceFromEnvironment();
    if (nproc > 1 && !place) return launchTrainingWorkers(arguments, nproc, out);
    if (place && args.has("nproc") && nproc != place->worldSize)
        throw UsageError(QStringLiteral("--nproc %1 disagrees with WORLD_SIZE=%2")
                             .arg(nproc)
                             .arg(place->worldSize)
                             .toStdString());
    const torch::Device device = place ? workerDevice(args.device(), *place) : args.device();
    std::shared_ptr<GradientSync> workers;
    if (place) workers = joinWorkerGroup(*place, device, peerTimeout);
    const int workerCount = workers ? workers->worldSize() : 1;
    const bool lead = !workers || workers->rank() == 0;  // prints; the others stay quiet

    // Fine-tuning starts from the checkpoint's config and weights; options given here override.
    std::optional<LoadedCheckpoint> start;
    if (args.has("init")) start = loadCheckpoint(args.text("init"), device, family);
    if (!start && (args.has("init-fresh") || args.has("init-step")))
        throw UsageError("--init-fresh and --init-step need --init");
    ModelConfig config = start ? start->header.config : ModelConfig();
    for (const QString key : {"arch", "latent", "beta", "hidden", "lr"})
        if (args.has(key)) config.set(key.toStdString(), args.text(key).toStdString());
    for (const QString& pair : args.parser.values("set")) {
        const qsizetype eq = pair.indexOf('=');
        if (eq <= 0) throw UsageError("--set needs KEY=VALUE, got '" + pair.toStdString() + "'");
        config.set(pair.left(eq).toStdString(), pair.mid(eq + 1).toStdString());
    }

    torch::manual_seed(seed);
    Dataset data = loadTrainingData(datasetName, ImageShape{3, 32, 32},
                                    args.integer("train-images", 0, 0, 10000000));
    if (start && start->header.shape != data.shape)
        throw DataError(QStringLiteral("%1 was trained on %2 images, dataset %3 has %4")
                            .arg(args.text("init"),
                                 QString::fromStdString(start->header.shape.toString()),
                                 datasetName, QString::fromStdString(data.shape.toString()))
                            .toStdString());
    writeImageShape(config, data.shape);
    auto model = ModelRegistry::instance().create(family.toStdString(), config, device);
    qint64 firstStep = 0;
    if (start) {
        std::vector<std::string> fresh;
        for (const QString& prefix : args.parser.values("init-fresh"))
            fresh.push_back(prefix.toStdString());
        std::stringstream weights;
        start->model->saveWeights(weights);
        try {
            model->loadWeights(weights, fresh);
        } catch (const ModelError& e) {
            throw ModelError(args.text("init").toStdString() + ": " + e.what());
        }
        // The learning-rate schedule goes on from where the checkpoint's run left it, or from
        // the step asked for (a warm restart, or a new part's phase from its start).
        firstStep = args.integer("init-step", start->header.steps, 0, 1000000000);
        model->setStepsTaken(firstStep);
    }
    // Each worker draws its own noise (reparameterisation, GAN latents); the weights are rank 0's
    // (the trainer starts every replica from them).
    if (workers) torch::manual_seed(seed + quint64(workers->rank()));

    const qint64 globalBatch = batch * workerCount;
    TrainOptions options;
    options.firstStep = firstStep;
    options.batchSize = batch;
    options.seed = seed;
    options.learningRate = args.number("lr", 0);
    options.steps = args.has("steps") ? args.integer("steps", 0, 1, 100000000)
                                      : args.integer("epochs", 0, 1, 100000) *
                                            ((data.train.size() + globalBatch - 1) / globalBatch);
    options.checkpointPath = out;
    options.checkpointEvery =
        checkpointEvery > 0 ? checkpointEvery : std::max<qint64>(100, options.steps / 10);
    options.runDir = args.text("run-dir");
    options.snapshotEvery = args.integer("snapshot-every", 0, 0, 100000000);
    options.evalEvery = args.integer("eval-every", 0, 0, 100000000);
    QStringList command = arguments.mid(1);
    command.prepend(QStringLiteral("latent-explorer-cli train"));
    QJsonObject recipe{{"command", command.join(' ')}, {"threads", torch::get_num_threads()}};
    if (workers) recipe.insert("workers", workerCount);
    options.extraHeader = QJsonObject{{"recipe", recipe}};
    options.sync = workers;

    Trainer trainer(*model, data, options);
    ProgressBar bar(!args.json() && lead);
    // A run alone stops on SIGINT or SIGTERM after its current step, and ends as a cancelled run
    // does: evaluated, its checkpoint written with the held-out metrics. Workers keep the default
    // (the launcher ends them together).
    if (!workers) {
        std::signal(SIGINT, requestStop);
        std::signal(SIGTERM, requestStop);
    }
    trainer.setProgressCallback([&](const TrainProgress& p) {
        bar.update(p);
        if (g_stopRequested) trainer.cancel();
    });
    const TrainResult result = trainer.run();
    const int exitCode = result.status == TrainStatus::Diverged ? kExitBadInput : kExitOk;
    if (!lead) return exitCode;

    QJsonObject json{{"status", statusName(result.status)},
                     {"steps", result.steps},
                     {"wall_s", result.wallS},
                     {"test", metricsToJson(result.heldOut)},
                     {"checkpoint", out},
                     {"message", result.message}};
    if (workers) {
        json.insert("workers", workerCount);
        json.insert("replica_difference", result.replicaDifference);
    }
    if (args.json()) {
        printJson(json);
    } else {
        std::cout << result.message.toStdString() << " in " << result.wallS << " s\n";
        if (workers && result.replicaDifference > 0)
            std::cout << "warning: the workers' weights differ by up to "
                      << result.replicaDifference << "\n";
        for (const auto& [name, value] : result.heldOut)
            std::cout << "test " << name << " = " << value << "\n";
        std::cout << "checkpoint: " << out.toStdString() << "\n";
    }
    return exitCode;
}

QJsonObject recipeJson(const QString& command, const QStringList& arguments) {
    QStringList words = arguments.mid(1);
    words.prepend(QStringLiteral("latent-explorer-cli ") + command);
    return QJsonObject{{"command", words.join(' ')}, {"threads", torch::get_num_threads()}};
}

TrainProgress progressAt(qint64 step, qint64 total, const Metrics& train, qint64 batch,
                         const QElapsedTimer& timer) {
    TrainProgress p;
    p.step = step;
    p.totalSteps = total;
    p.train = train;
    p.elapsedS = timer.nsecsElapsed() / 1e9;
    p.imagesPerSecond = double(step * batch) / std::max(1e-9, p.elapsedS);
    return p;
}

int cmdTrainClassifier(const QStringList& arguments) {
    Args args(arguments, {opt("dataset", "Dataset.", "name"), opt("steps", "Steps.", "n"),
                          opt("out", "Classifier checkpoint.", "file"), opt("seed", "Seed.", "s"),
                          opt("batch", "Batch size.", "n"), opt("lr", "Learning rate.", "lr"),
                          opt("hidden", "Channels of the first block.", "n"),
                          opt("features", "Width of the feature layer.", "n")});
    const QString datasetName = args.required("dataset");
    const QString out = args.required("out");
    args.required("steps");
    ClassifierTrainOptions options;
    options.steps = args.integer("steps", 0, 1, 100000000);
    options.batchSize = args.integer("batch", 64, 1, 4096);
    options.seed = quint64(args.integer("seed", 1, 0, std::numeric_limits<qint64>::max()));
    options.learningRate = args.number("lr", 0);
    const torch::Device device = args.device();

    torch::manual_seed(options.seed);
    const Dataset data = loadTrainingData(datasetName, ImageShape{3, 32, 32});
    const ClassifierTarget target = classifierTarget(data);
    ModelConfig config;
    for (const QString key : {"hidden", "features", "lr"})
        if (args.has(key)) config.set(key.toStdString(), args.text(key).toStdString());
    config.set("classes", int64_t(target.classNames.size()));
    writeImageShape(config, data.shape);
    Classifier classifier(ClassifierOptions::fromConfig(config));
    classifier.to(device);

    ProgressBar bar(!args.json());
    QElapsedTimer timer;
    timer.start();
    const ClassifierTrainResult result = trainClassifier(
        classifier, data, target, options, [&](qint64 step, qint64 total, const Metrics& m) {
            bar.update(progressAt(step, total, m, options.batchSize, timer));
        });

    CheckpointHeader header;
    header.dataset = data.name;
    header.steps = result.steps;
    header.metrics = metricsToJson(result.heldOut);
    header.extra = QJsonObject{{"recipe", recipeJson("train-classifier", arguments)},
                               {"seed", QString::number(options.seed)},
                               {"batch_size", options.batchSize},
                               {"target", target.description},
                               {"class_names", QJsonArray::fromStringList(target.classNames)},
                               {"test_images", qint64(data.test.size())},
                               {"wall_s", result.wallS}};
    saveClassifierCheckpoint(out, classifier, header);

    QJsonObject json{{"status", "finished"},
                     {"dataset", data.name},
                     {"steps", result.steps},
                     {"wall_s", result.wallS},
                     {"threads", torch::get_num_threads()},
                     {"test", metricsToJson(result.heldOut)},
                     {"test_images", qint64(data.test.size())},
                     {"classes", target.classNames.size()},
                     {"target", target.description},
                     {"checkpoint", out}};
    if (args.json()) {
        printJson(json);
    } else {
        std::cout << "trained " << result.steps << " steps in " << result.wallS << " s\n"
                  << "test accuracy = " << result.heldOut.at("accuracy") << " on "
                  << data.test.size() << " images\n"
                  << "checkpoint: " << out.toStdString() << "\n";
    }
    return kExitOk;
}

LoadedCheckpoint loadFor(const Args& args) {
    return loadCheckpoint(args.required("checkpoint"), args.device());
}

torch::Tensor reconstructInBatches(GenerativeModel& model, const torch::Tensor& images,
                                   qint64 batch = 100) {
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> parts;
    for (qint64 i = 0; i < images.size(0); i += batch) {
        const torch::Tensor x = images.slice(0, i, std::min<qint64>(images.size(0), i + batch));
        parts.push_back(model.decode(model.encode(x.to(model.device()))).to(torch::kCPU));
    }
    return torch::cat(parts);
}

ImageShape shapeOf(const torch::Tensor& images) {
    return ImageShape{images.size(1), images.size(2), images.size(3)};
}

void requireModelShape(const ImageSet& set, const QString& dataset,
                       const LoadedCheckpoint& loaded) {
    const ImageShape model = loaded.model->imageShape();
    if (set.size() == 0)
        throw DataError(
            QStringLiteral("dataset %1 has no images in this split").arg(dataset).toStdString());
    if (shapeOf(set.images) != model)
        throw DataError(QStringLiteral("dataset %1 has %2 images, but this %3 model takes %4")
                            .arg(dataset, QString::fromStdString(shapeOf(set.images).toString()),
                                 loaded.header.family, QString::fromStdString(model.toString()))
                            .toStdString());
}

const char* const kClassifierFdNote =
    "classifier_fd: Fréchet distance in the features of the project's own classifier, not FID, "
    "between the samples and held-out test images; classifier_fd_floor: the same for as many "
    "real test images; recon_classifier_fd: the same for those real images' reconstructions";

double temperatureArg(const Args& args) {
    const double t = args.number("temperature", 1.0);
    if (t <= 0) throw DataError("the temperature must be above 0");
    return t;
}

int cmdEval(const QStringList& arguments) {
    Args args(
        arguments,
        {opt("checkpoint", "Checkpoint.", "file"), opt("split", "test or train.", "split"),
         opt("images", "Images to evaluate.", "n"), opt("seed", "Sample seed.", "s"),
         opt("samples", "Samples for sharpness and classifier_fd.", "n"),
         opt("classifier", "Classifier checkpoint for classifier_fd.", "file"),
         opt("temperature", "Sampling temperature (default: the family's own).", "t"),
         opt("dataset", "Evaluate on this dataset instead of the model's own.", "name"),
         opt("held-out", "Test images after the samples' real ones for classifier_fd.", "n")});
    const QString split = args.has("split") ? args.text("split") : QStringLiteral("test");
    if (split != "test" && split != "train") throw UsageError("--split must be test or train");
    const qint64 images = args.integer("images", 2000, 1, 1000000);
    const qint64 samplesWanted = args.integer("samples", 1000, 2, 100000);
    const quint64 seed = quint64(args.integer("seed", 1, 0, 1LL << 62));
    LoadedCheckpoint loaded = loadFor(args);
    const QString datasetName = args.has("dataset") ? args.text("dataset") : loaded.header.dataset;
    const qint64 heldOut = args.integer("held-out", 1000, 2, 100000);
    const qint64 limit = std::max(images, samplesWanted + heldOut);
    const Dataset data =
        loadDatasetByName(datasetName, split == "train", limit, limit, loaded.header.shape);
    const ImageSet& set = split == "train" ? data.train : data.test;
    requireModelShape(set, datasetName, loaded);
    GenerativeModel& model = *loaded.model;
    const double temperature =
        args.has("temperature") ? temperatureArg(args) : model.defaultTemperature();
    Metrics metrics = evaluateModel(model, set, images);

    // The samples are drawn and measured as the Compare view draws and measures them.
    const qint64 count = std::min<qint64>(samplesWanted, set.size());
    const SampleReference reference = makeSampleReference(
        set, datasetName, count, heldOut,
        args.has("classifier") ? args.text("classifier") : QString(), args.device());
    // A classifier asked for by name must work; the shipped one may be missing.
    if (args.has("classifier") && !reference.classifier)
        throw DataError(reference.note.toStdString());
    const torch::Tensor& real = reference.real;
    metrics["data_sharpness"] = reference.sharpness;
    QJsonObject classifier{
        {"skipped", QStringLiteral("a %1 model cannot sample").arg(loaded.header.family)}};
    if (model.capabilities().sample) {
        const SampleQuality q =
            measureSamples(sampleInChunks(model, count, temperature, seed), reference);
        metrics["sample_sharpness"] = q.sharpness;
        metrics["sample_sharpness_rel"] = q.sharpnessRatio;
        metrics["sample_high_frequency_rel"] = q.highFrequencyRatio;
        if (q.nonFinite > 0) {
            metrics["nonfinite_samples"] = double(q.nonFinite);
            classifier =
                QJsonObject{{"skipped", QStringLiteral("%1 of %2 samples have non-finite pixels")
                                            .arg(q.nonFinite)
                                            .arg(count)}};
        } else if (!reference.classifier) {
            classifier = QJsonObject{{"skipped", reference.note}};
        } else {
            metrics["classifier_fd"] = q.classifierFd;
            metrics["classifier_fd_floor"] = reference.fdFloor;
            classifier = QJsonObject{
                {"path", reference.classifierPath},
                {"dataset", reference.classifier->header.dataset},
                {"test_accuracy", reference.classifier->header.metrics.value("accuracy")},
                {"samples", count},
                {"held_out", qint64(reference.heldOut)},
                {"note", kClassifierFdNote}};
        }
    }
    if (model.capabilities().encode && model.capabilities().decode) {
        const torch::Tensor recon = reconstructInBatches(model, real);
        metrics["recon_sharpness"] = meanSharpness(recon);
        metrics["recon_sharpness_rel"] =
            metrics["recon_sharpness"] / std::max(1e-12, reference.sharpness);
        // The reconstructions of the floor's own real images: how close decoding alone comes,
        // so a sample FD splits into what the decoder loses and what the prior adds.
        const double reconFd = measureSamples(recon, reference).classifierFd;
        if (std::isfinite(reconFd)) metrics["recon_classifier_fd"] = reconFd;
        if (!metrics.count("recon_mse")) metrics["recon_mse"] = reconstructionMse(real, recon);
    }
    QJsonObject json{{"checkpoint", args.text("checkpoint")},
                     {"family", loaded.header.family},
                     {"dataset", datasetName},
                     {"split", split},
                     {"images", std::min<qint64>(set.size(), images)},
                     {"samples", count},
                     {"temperature", temperature},
                     {"metrics", metricsToJson(metrics)},
                     {"classifier", classifier}};
    if (args.json()) {
        printJson(json);
    } else {
        for (const auto& [name, value] : metrics) std::cout << name << " = " << value << "\n";
        if (classifier.contains("skipped"))
            std::cout << "no classifier_fd: " << classifier["skipped"].toString().toStdString()
                      << "\n";
        else
            std::cout << kClassifierFdNote << " (" << classifier["path"].toString().toStdString()
                      << ")\n";
    }
    return kExitOk;
}

void requireCapability(bool has, const LoadedCheckpoint& loaded, const char* what) {
    if (!has)
        throw DataError(
            QStringLiteral("a %1 model cannot %2").arg(loaded.header.family, what).toStdString());
}

int cmdSample(const QStringList& arguments) {
    Args args(arguments, {opt("checkpoint", "Checkpoint.", "file"), opt("count", "Images.", "n"),
                          opt("out", "PNG grid.", "file"), opt("temperature", "Prior scale.", "t"),
                          opt("seed", "Seed.", "s"), opt("columns", "Grid columns.", "n")});
    const qint64 count = args.integer("count", 16, 1, 4096);
    const QString out = args.required("out");
    LoadedCheckpoint loaded = loadFor(args);
    requireCapability(loaded.model->capabilities().sample, loaded, "sample");
    const double temperature =
        args.has("temperature") ? temperatureArg(args) : loaded.model->defaultTemperature();
    // In the chunks every view draws, so the same seed gives the Compare view's images.
    const torch::Tensor images = sampleInChunks(*loaded.model, count, temperature,
                                                quint64(args.integer("seed", 1, 0, 1LL << 62)));
    const int columns = int(args.integer("columns", std::ceil(std::sqrt(double(count))), 1, 4096));
    writeImage(out, tileImages(images.to(torch::kCPU), columns));
    if (args.json())
        printJson(QJsonObject{{"out", out}, {"count", count}});
    else
        std::cout << "wrote " << count << " samples to " << out.toStdString() << "\n";
    return kExitOk;
}

QJsonArray toJsonArray(const torch::Tensor& vector) {
    QJsonArray array;
    const torch::Tensor v = vector.to(torch::kCPU).to(torch::kFloat64).contiguous();
    for (int64_t i = 0; i < v.numel(); ++i) array.append(v.data_ptr<double>()[i]);
    return array;
}

torch::Tensor encodeFile(LoadedCheckpoint& loaded, const QString& path) {
    ImportOptions options;
    options.shape = loaded.model->imageShape();
    const torch::Tensor x = prepareImage(readImageFile(path), options);
    torch::NoGradGuard noGrad;
    return loaded.model->encode(x.to(loaded.model->device())).to(torch::kCPU);
}

int cmdEncode(const QStringList& arguments) {
    Args args(arguments,
              {opt("checkpoint", "Checkpoint.", "file"), opt("image", "Image file.", "file")});
    const QString image = args.required("image");
    LoadedCheckpoint loaded = loadFor(args);
    requireCapability(loaded.model->capabilities().encode, loaded, "encode images");
    const torch::Tensor z = encodeFile(loaded, image)[0];
    if (args.json()) {
        printJson(QJsonObject{{"image", image}, {"latent", toJsonArray(z)}});
    } else {
        const QJsonArray values = toJsonArray(z);
        QStringList parts;
        for (const auto& v : values) parts << QString::number(v.toDouble(), 'g', 6);
        std::cout << parts.join(',').toStdString() << "\n";
    }
    return kExitOk;
}

int cmdDecode(const QStringList& arguments) {
    Args args(arguments,
              {opt("checkpoint", "Checkpoint.", "file"),
               opt("latent", "Comma-separated values.", "values"), opt("out", "PNG.", "file")});
    const QString out = args.required("out");
    const QStringList parts = args.required("latent").split(',', Qt::SkipEmptyParts);
    LoadedCheckpoint loaded = loadFor(args);
    requireCapability(loaded.model->capabilities().decode, loaded, "decode latents");
    if (parts.size() != loaded.model->latentDim())
        throw DataError(QStringLiteral("--latent has %1 values, the model needs %2")
                            .arg(parts.size())
                            .arg(loaded.model->latentDim())
                            .toStdString());
    std::vector<float> values;
    for (const QString& p : parts) {
        bool ok = false;
        values.push_back(p.toFloat(&ok));
        if (!ok) throw UsageError("--latent: '" + p.toStdString() + "' is not a number");
    }
    torch::NoGradGuard noGrad;
    const torch::Tensor z = torch::tensor(values).reshape({1, -1}).to(loaded.model->device());
    writeImage(out, tensorToMat(loaded.model->decode(z).to(torch::kCPU)[0]));
    if (args.json())
        printJson(QJsonObject{{"out", out}});
    else
        std::cout << "wrote " << out.toStdString() << "\n";
    return kExitOk;
}

int cmdTrainEncoder(const QStringList& arguments) {
    Args args(arguments,
              {opt("checkpoint", "DCGAN checkpoint.", "file"), opt("steps", "Encoder steps.", "n"),
               opt("out", "Where to save (default: over the checkpoint).", "file"),
               opt("batch", "Generated pairs per step.", "n"), opt("seed", "Seed.", "s")});
    const QString path = args.required("checkpoint");
    const QString out = args.has("out") ? args.text("out") : path;
    args.required("steps");
    const qint64 steps = args.integer("steps", 0, 1, 100000000);
    const qint64 batch = args.integer("batch", 64, 1, 4096);
    const quint64 seed = quint64(args.integer("seed", 1, 0, std::numeric_limits<qint64>::max()));
    LoadedCheckpoint loaded = loadCheckpoint(path, args.device());
    GenerativeModel& model = *loaded.model;
    if (!model.hasEncoderTraining())
        throw DataError(QStringLiteral("%1: a %2 checkpoint has no encoder to train after the "
                                       "model (train-encoder is for GANs)")
                            .arg(path, loaded.header.family)
                            .toStdString());

    torch::manual_seed(seed);  // the encoder's pairs come from LibTorch's global generator
    ProgressBar bar(!args.json());
    QElapsedTimer timer;
    timer.start();
    const qint64 tail = std::max<qint64>(1, steps / 10);  // report the mean of the last tenth
    Metrics last;
    for (qint64 step = 1; step <= steps; ++step) {
        const Metrics m = model.trainEncoderStep(batch);
        if (!std::isfinite(m.at("loss")))
            throw DataError(
                QStringLiteral("encoder training diverged at step %1").arg(step).toStdString());
        if (step > steps - tail)
            for (const auto& [name, value] : m) last[name] += value / double(tail);
        bar.update(progressAt(step, steps, m, batch, timer));
    }
    const double wallS = timer.nsecsElapsed() / 1e9;
    // Steps in all, this run's and any earlier train-encoder runs' (recorded in the header).
    const qint64 encoderSteps =
        loaded.header.extra.value("encoder").toObject().value("steps").toInteger() + steps;

    CheckpointHeader header = loaded.header;
    header.created.clear();  // saved now
    QJsonObject encoder = metricsToJson(last);
    encoder.insert("steps", encoderSteps);
    encoder.insert("batch_size", batch);
    encoder.insert("seed", QString::number(seed));
    encoder.insert("wall_s", wallS);
    encoder.insert("recipe", recipeJson("train-encoder", arguments));
    header.extra.insert("encoder", encoder);
    saveCheckpoint(out, model, header);

    QJsonObject json{{"checkpoint", out},
                     {"steps", steps},
                     {"encoder_steps", encoderSteps},
                     {"wall_s", wallS},
                     {"train", metricsToJson(last)}};
    if (args.json()) {
        printJson(json);
    } else {
        std::cout << "encoder trained " << steps << " steps (" << encoderSteps << " in all) in "
                  << wallS << " s; z_mse " << last["z_mse"] << ", x_mse " << last["x_mse"] << "\n"
                  << "checkpoint: " << out.toStdString() << "\n";
    }
    return kExitOk;
}

InversionSettings inversionSettings(const Args& args) {
    InversionSettings settings;
    settings.steps = args.integer("steps", settings.steps, 1, 100000);
    settings.starts = args.integer("starts", settings.starts, 1, 256);
    settings.seed = quint64(args.integer("seed", 1, 0, std::numeric_limits<qint64>::max()));
    return settings;
}

// The route's name, and whether a GAN's trained encoder gave one of its starts.
QString methodName(LatentRoute route, const GenerativeModel& model) {
    const bool encoderStart = route == LatentRoute::Optimisation && model.capabilities().encode;
    return routeName(route) +
           (encoderStart ? QStringLiteral(" (with an encoder start)") : QString());
}

int cmdInvert(const QStringList& arguments) {
    Args args(arguments,
              {opt("checkpoint", "Checkpoint.", "file"), opt("image", "Image file.", "file"),
               opt("out", "PNG: input and reconstruction.", "file"),
               opt("steps", "Optimiser steps per start.", "n"),
               opt("starts", "Random starts.", "n"), opt("seed", "Seed.", "s")});
    const QString imagePath = args.required("image");
    const QString out = args.required("out");
    LoadedCheckpoint loaded = loadFor(args);
    GenerativeModel& model = *loaded.model;
    ImportOptions import;
    import.shape = model.imageShape();
    const torch::Tensor target = prepareImage(readImageFile(imagePath), import);
    QElapsedTimer timer;
    timer.start();
    const InversionSettings settings = inversionSettings(args);
    if (inversionRoute(model.capabilities()) == LatentRoute::None)
        throw DataError(QStringLiteral("a %1 model cannot invert images: it neither optimises a "
                                       "latent nor encodes and decodes")
                            .arg(loaded.header.family)
                            .toStdString());
    const LatentInversion inversion = invertImage(model, target, settings);
    const QString method = methodName(inversion.route, model);
    const double wallS = timer.nsecsElapsed() / 1e9;
    const double error = reconstructionMse(target, inversion.reconstruction);
    writeImage(out, tileImages(torch::cat({target, inversion.reconstruction}), 2));

    const QJsonObject json{
        {"image", imagePath},
        {"out", out},
        {"family", loaded.header.family},
        {"method", method},
        {"error", error},
        {"latent_dim", qint64(model.latentDim())},
        {"steps", qint64(inversion.steps)},
        {"starts",
         inversion.route == LatentRoute::Optimisation ? qint64(settings.starts) : qint64(0)},
        {"wall_s", wallS},
    };
    if (args.json()) {
        printJson(json);
    } else {
        std::cout << "inverted by " << method.toStdString() << ": MSE " << error
                  << " on [-1, 1], latent " << model.latentDim() << ", " << inversion.steps
                  << " steps, " << wallS << " s\nwrote " << out.toStdString() << "\n";
    }
    return kExitOk;
}

int cmdInterpolate(const QStringList& arguments) {
    Args args(arguments,
              {opt("checkpoint", "Checkpoint.", "file"), opt("from", "Image A.", "file"),
               opt("to", "Image B.", "file"), opt("frames", "Frame count.", "n"),
               opt("out", "PNG strip.", "file"), opt("slerp", "Spherical interpolation."),
               opt("steps", "A GAN's optimiser steps per start, per endpoint.", "n"),
               opt("starts", "A GAN's random starts.", "n"), opt("seed", "Seed.", "s")});
    const QString from = args.required("from");
    const QString to = args.required("to");
    const QString out = args.required("out");
    const qint64 frames = args.integer("frames", 8, 2, 1000);
    LoadedCheckpoint loaded = loadFor(args);
    GenerativeModel& model = *loaded.model;
    requireCapability(interpolationRoute(model.capabilities()) != LatentRoute::None, loaded,
                      "interpolate between images");
    ImportOptions import;
    import.shape = model.imageShape();
    // The Interpolation view's path: the same route, latents and one decode per frame.
    const LatentInterpolation path = interpolateImages(
        model, prepareImage(readImageFile(from), import), prepareImage(readImageFile(to), import),
        int(frames), args.has("slerp"), inversionSettings(args));
    const torch::Tensor images = torch::cat(path.frames);
    writeImage(out, tileImages(images.to(torch::kCPU), int(frames)));
    if (args.json())
        printJson(QJsonObject{{"out", out},
                              {"frames", frames},
                              {"method", interpolationRouteName(path.route)},
                              {"endpoint_mse", path.endpointMse}});
    else
        std::cout << "wrote " << frames << " frames to " << out.toStdString() << "\n";
    return kExitOk;
}

int cmdInfo(const QStringList& arguments) {
    Args args(arguments, {opt("checkpoint", "Checkpoint.", "file")});
    const CheckpointHeader header = readCheckpointHeader(args.required("checkpoint"));
    if (args.json()) {
        printJson(header.toJson());
    } else {
        std::cout << "family  " << header.family.toStdString() << "\n"
                  << "dataset " << header.dataset.toStdString() << "\n"
                  << "shape   " << header.shape.toString() << "\n"
                  << "steps   " << header.steps << "\n"
                  << "created " << header.created.toStdString() << "\n";
        for (const auto& [key, value] : header.config.values())
            std::cout << "config  " << key << " = " << value << "\n";
        for (auto it = header.metrics.begin(); it != header.metrics.end(); ++it)
            std::cout << "metric  " << it.key().toStdString() << " = " << it.value().toDouble()
                      << "\n";
    }
    return kExitOk;
}

int dispatch(const QStringList& arguments) {
    if (arguments.size() < 2 || arguments[1] == "--help" || arguments[1] == "-h" ||
        arguments[1] == "help") {
        std::cout << kUsage;
        return arguments.size() < 2 ? kExitUsage : kExitOk;
    }
    const QString command = arguments[1];
    const QStringList rest = QStringList(arguments.mid(1));  // parser expects argv[0] first
    if (command == "datasets") return cmdDatasets(rest);
    if (command == "train") return cmdTrain(rest);
    if (command == "train-classifier") return cmdTrainClassifier(rest);
    if (command == "train-encoder") return cmdTrainEncoder(rest);
    if (command == "eval") return cmdEval(rest);
    if (command == "sample") return cmdSample(rest);
    if (command == "encode") return cmdEncode(rest);
    if (command == "invert") return cmdInvert(rest);
    if (command == "decode") return cmdDecode(rest);
    if (command == "interpolate") return cmdInterpolate(rest);
    if (command == "info") return cmdInfo(rest);
    throw UsageError("unknown command '" + command.toStdString() + "'");
}

}  // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("latent-explorer"));
    le::configureThreads();
    try {
        return dispatch(QCoreApplication::arguments());
    } catch (const UsageError& e) {
        std::cerr << "latent-explorer-cli: " << e.what() << "\n\n" << kUsage;
        return kExitUsage;
    } catch (const le::DataError& e) {
        std::cerr << "latent-explorer-cli: error: " << e.what() << "\n";
        return kExitBadInput;
    } catch (const le::ModelError& e) {
        std::cerr << "latent-explorer-cli: error: " << e.what() << "\n";
        return kExitBadInput;
    } catch (const c10::Error& e) {
        std::cerr << "latent-explorer-cli: error: " << e.what_without_backtrace() << "\n";
        return kExitBadInput;
    } catch (const std::exception& e) {
        std::cerr << "latent-explorer-cli: unexpected error: " << e.what() << "\n";
        return kExitUnexpected;
    }
}
