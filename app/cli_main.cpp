// latent-explorer-cli: the same core as the GUI, headless.
// Exit codes: 0 success, 2 bad usage, 3 bad input data or files, 1 anything unexpected.

#include "checkpoint.h"
#include "engine.h"
#include "errors.h"
#include "faces.h"
#include "fashion_mnist.h"
#include "image_io.h"
#include "metrics.h"
#include "threads.h"
#include "trainer.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace {

using namespace le;

constexpr int kExitOk = 0;
constexpr int kExitUnexpected = 1;
constexpr int kExitUsage = 2;
constexpr int kExitBadInput = 3;

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
    "        [--set KEY=VALUE]... [--run-dir DIR] [--device auto|cpu|cuda]\n"
    "  eval --checkpoint CKPT [--split test|train] [--images N]\n"
    "  sample --checkpoint CKPT --count N --out PNG [--temperature T] [--seed S]\n"
    "  encode --checkpoint CKPT --image FILE\n"
    "  decode --checkpoint CKPT --latent v1,v2,... --out PNG\n"
    "  interpolate --checkpoint CKPT --from A --to B --frames N --out PNG [--slerp]\n"
    "  info --checkpoint CKPT\n"
    "\n"
    "Datasets: fashion-mnist, faces (32x32 RGB), faces64 (64x64 RGB), or a folder/file of images.\n"
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

Dataset loadTrainingData(const QString& name, const ImageShape& fallbackShape) {
    return loadDatasetByName(name, /*withTrain=*/true, 0, 0, fallbackShape);
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

int cmdTrain(const QStringList& arguments) {
    Args args(arguments, {opt("model", "Family.", "family"), opt("arch", "Architecture.", "arch"),
                          opt("latent", "Latent size.", "n"), opt("beta", "KL weight.", "b"),
                          opt("hidden", "Hidden width.", "n"), opt("dataset", "Dataset.", "name"),
                          opt("steps", "Steps.", "n"), opt("epochs", "Epochs.", "n"),
                          opt("batch", "Batch size.", "n"), opt("lr", "Learning rate.", "lr"),
                          opt("seed", "Seed.", "s"), opt("out", "Checkpoint.", "file"),
                          opt("run-dir", "Run folder.", "dir"),
                          opt("snapshot-every", "Sample grid period.", "n"),
                          opt("eval-every", "Held-out evaluation period.", "n"),
                          opt("set", "A family config key, KEY=VALUE (repeatable).", "key=value")});
    const QString family = args.required("model");
    const QString datasetName = args.required("dataset");
    const QString out = args.required("out");
    if (args.has("steps") == args.has("epochs"))
        throw UsageError("give exactly one of --steps and --epochs");
    const qint64 batch = args.integer("batch", 64, 1, 4096);
    const quint64 seed = quint64(args.integer("seed", 1, 0, std::numeric_limits<qint64>::max()));
    const torch::Device device = args.device();

    ModelConfig config;
    for (const QString key : {"arch", "latent", "beta", "hidden", "lr"})
        if (args.has(key)) config.set(key.toStdString(), args.text(key).toStdString());
    for (const QString& pair : args.parser.values("set")) {
        const qsizetype eq = pair.indexOf('=');
        if (eq <= 0) throw UsageError("--set needs KEY=VALUE, got '" + pair.toStdString() + "'");
        config.set(pair.left(eq).toStdString(), pair.mid(eq + 1).toStdString());
    }

    torch::manual_seed(seed);
    Dataset data = loadTrainingData(datasetName, ImageShape{3, 32, 32});
    writeImageShape(config, data.shape);
    auto model = ModelRegistry::instance().create(family.toStdString(), config, device);

    TrainOptions options;
    options.batchSize = batch;
    options.seed = seed;
    options.learningRate = args.number("lr", 0);
    options.steps = args.has("steps") ? args.integer("steps", 0, 1, 100000000)
                                      : args.integer("epochs", 0, 1, 100000) *
                                            ((data.train.size() + batch - 1) / batch);
    options.checkpointPath = out;
    options.checkpointEvery = std::max<qint64>(100, options.steps / 10);
    options.runDir = args.text("run-dir");
    options.snapshotEvery = args.integer("snapshot-every", 0, 0, 100000000);
    options.evalEvery = args.integer("eval-every", 0, 0, 100000000);
    QStringList command = arguments.mid(1);
    command.prepend(QStringLiteral("latent-explorer-cli train"));
    QJsonObject recipe{{"command", command.join(' ')}, {"threads", torch::get_num_threads()}};
    options.extraHeader = QJsonObject{{"recipe", recipe}};

    Trainer trainer(*model, data, options);
    ProgressBar bar(!args.json());
    trainer.setProgressCallback([&](const TrainProgress& p) { bar.update(p); });
    const TrainResult result = trainer.run();

    QJsonObject json{{"status", statusName(result.status)},
                     {"steps", result.steps},
                     {"wall_s", result.wallS},
                     {"test", metricsToJson(result.heldOut)},
                     {"checkpoint", out},
                     {"message", result.message}};
    if (args.json()) {
        printJson(json);
    } else {
        std::cout << result.message.toStdString() << " in " << result.wallS << " s\n";
        for (const auto& [name, value] : result.heldOut)
            std::cout << "test " << name << " = " << value << "\n";
        std::cout << "checkpoint: " << out.toStdString() << "\n";
    }
    return result.status == TrainStatus::Diverged ? kExitBadInput : kExitOk;
}

LoadedCheckpoint loadFor(const Args& args) {
    return loadCheckpoint(args.required("checkpoint"), args.device());
}

int cmdEval(const QStringList& arguments) {
    Args args(arguments,
              {opt("checkpoint", "Checkpoint.", "file"), opt("split", "test or train.", "split"),
               opt("images", "Images to evaluate.", "n"), opt("seed", "Sample seed.", "s")});
    LoadedCheckpoint loaded = loadFor(args);
    const QString split = args.has("split") ? args.text("split") : QStringLiteral("test");
    if (split != "test" && split != "train") throw UsageError("--split must be test or train");
    const qint64 images = args.integer("images", 2000, 1, 1000000);
    const Dataset data = loadDatasetByName(loaded.header.dataset, split == "train", images, images,
                                           loaded.header.shape);
    const ImageSet& set = split == "train" ? data.train : data.test;
    GenerativeModel& model = *loaded.model;
    Metrics metrics = evaluateModel(model, set, images);

    const qint64 sampleCount = std::min<qint64>(500, set.size());
    const torch::Tensor real = set.images.slice(0, 0, sampleCount);
    const double dataSharpness = meanSharpness(real);
    metrics["data_sharpness"] = dataSharpness;
    if (model.capabilities().sample) {
        torch::NoGradGuard noGrad;
        const torch::Tensor samples =
            model.sample(sampleCount, 1.0, quint64(args.integer("seed", 1, 0, 1LL << 62)));
        metrics["sample_sharpness"] = meanSharpness(samples);
        metrics["sample_sharpness_rel"] =
            metrics["sample_sharpness"] / std::max(1e-12, dataSharpness);
    }
    if (model.capabilities().encode && model.capabilities().decode) {
        torch::NoGradGuard noGrad;
        const torch::Tensor recon =
            model.decode(model.encode(real.to(model.device()))).to(torch::kCPU);
        metrics["recon_sharpness_rel"] = meanSharpness(recon) / std::max(1e-12, dataSharpness);
    }
    QJsonObject json{{"checkpoint", args.text("checkpoint")},
                     {"family", loaded.header.family},
                     {"dataset", loaded.header.dataset},
                     {"split", split},
                     {"images", std::min<qint64>(set.size(), images)},
                     {"metrics", metricsToJson(metrics)}};
    if (args.json()) {
        printJson(json);
    } else {
        for (const auto& [name, value] : metrics) std::cout << name << " = " << value << "\n";
    }
    return kExitOk;
}

void requireCapability(bool has, const LoadedCheckpoint& loaded, const char* what) {
    if (!has)
        throw DataError(
            QStringLiteral("a %1 model cannot %2").arg(loaded.header.family, what).toStdString());
}

double temperatureArg(const Args& args) {
    const double t = args.number("temperature", 1.0);
    if (t <= 0) throw DataError("the temperature must be above 0");
    return t;
}

int cmdSample(const QStringList& arguments) {
    Args args(arguments, {opt("checkpoint", "Checkpoint.", "file"), opt("count", "Images.", "n"),
                          opt("out", "PNG grid.", "file"), opt("temperature", "Prior scale.", "t"),
                          opt("seed", "Seed.", "s"), opt("columns", "Grid columns.", "n")});
    const qint64 count = args.integer("count", 16, 1, 4096);
    const QString out = args.required("out");
    const double temperature = temperatureArg(args);
    LoadedCheckpoint loaded = loadFor(args);
    requireCapability(loaded.model->capabilities().sample, loaded, "sample");
    torch::NoGradGuard noGrad;
    const torch::Tensor images =
        loaded.model->sample(count, temperature, quint64(args.integer("seed", 1, 0, 1LL << 62)));
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

// Spherical interpolation, falling back to linear when the endpoints are nearly parallel.
torch::Tensor slerp(const torch::Tensor& a, const torch::Tensor& b, double t) {
    const double cosOmega = (a.dot(b) / (a.norm() * b.norm() + 1e-12)).item<double>();
    const double omega = std::acos(std::clamp(cosOmega, -1.0, 1.0));
    if (std::abs(std::sin(omega)) < 1e-6) return a * (1 - t) + b * t;
    return (a * std::sin((1 - t) * omega) + b * std::sin(t * omega)) / std::sin(omega);
}

int cmdInterpolate(const QStringList& arguments) {
    Args args(arguments,
              {opt("checkpoint", "Checkpoint.", "file"), opt("from", "Image A.", "file"),
               opt("to", "Image B.", "file"), opt("frames", "Frame count.", "n"),
               opt("out", "PNG strip.", "file"), opt("slerp", "Spherical interpolation.")});
    const QString from = args.required("from");
    const QString to = args.required("to");
    const QString out = args.required("out");
    const qint64 frames = args.integer("frames", 8, 2, 1000);
    LoadedCheckpoint loaded = loadFor(args);
    requireCapability(loaded.model->capabilities().encode && loaded.model->capabilities().decode,
                      loaded, "interpolate between images");
    const torch::Tensor a = encodeFile(loaded, from)[0];
    const torch::Tensor b = encodeFile(loaded, to)[0];
    std::vector<torch::Tensor> path;
    for (qint64 i = 0; i < frames; ++i) {
        const double t = double(i) / double(frames - 1);
        path.push_back(args.has("slerp") ? slerp(a, b, t) : a * (1 - t) + b * t);
    }
    torch::NoGradGuard noGrad;
    const torch::Tensor images =
        loaded.model->decode(torch::stack(path).to(loaded.model->device()));
    writeImage(out, tileImages(images.to(torch::kCPU), int(frames)));
    if (args.json())
        printJson(QJsonObject{{"out", out}, {"frames", frames}});
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
    if (command == "eval") return cmdEval(rest);
    if (command == "sample") return cmdSample(rest);
    if (command == "encode") return cmdEncode(rest);
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
