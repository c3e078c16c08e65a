// latent-explorer-bench --json FILE [--quick]: the speed suite. Writes one JSON object (the keys
// below, the machine, and every bar with its verdict) and prints the same as a markdown table.

#include "bench.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QSaveFile>
#include <QTemporaryDir>

#include <cstdlib>
#include <functional>
#include <iostream>

using namespace le;
using namespace le::bench;

namespace {

struct Bar {
    const char* key;
    const char* what;
    const char* bar;
    std::function<bool(const QJsonValue&)> pass;
};

bool allAtMost(const QJsonValue& v, double limit) {
    if (v.isDouble()) return v.toDouble() <= limit;
    if (!v.isObject() || v.toObject().isEmpty()) return false;
    for (const QJsonValue& x : v.toObject())
        if (!(x.toDouble(1e300) <= limit)) return false;
    return true;
}

bool allAtLeast(const QJsonValue& v, double limit) {
    if (v.isDouble()) return v.toDouble() >= limit;
    if (!v.isObject() || v.toObject().isEmpty()) return false;
    for (const QJsonValue& x : v.toObject())
        if (!(x.toDouble(-1e300) >= limit)) return false;
    return true;
}

const std::vector<Bar>& bars() {
    static const std::vector<Bar> list{
        {"decode_p99_ms", "Interactive decode p99 (ms)", "≤ 10",
         [](const QJsonValue& v) { return allAtMost(v, 10); }},
        {"drag_p99_ms", "Drag to pixels p99 (ms)", "≤ 20",
         [](const QJsonValue& v) { return allAtMost(v, 20); }},
        {"gui_stall_p99_ms", "GUI stall p99 (ms)", "≤ 16",
         [](const QJsonValue& v) { return allAtMost(v, 16); }},
        {"train_ratio", "Training, C++ / Python images/s", "≥ 1.2",
         [](const QJsonValue& v) { return allAtLeast(v, 1.2); }},
        {"pixelcnn_sample_s", "PixelCNN full 28×28 sample (s)", "≤ 0.5",
         [](const QJsonValue& v) { return allAtMost(v, 0.5); }},
        {"pixelcnn_cached_speedup", "PixelCNN cached vs naive", "≥ 5×, bit-identical",
         [](const QJsonValue& v) { return allAtLeast(v, 5); }},
        {"glow_roundtrip_max_abs", "Glow round-trip max |error|", "reported",
         [](const QJsonValue& v) { return v.isDouble(); }},
        {"matmul_gflops", "Matrix product (GFLOP/s)", "reported",
         [](const QJsonValue& v) { return v.isDouble(); }},
        {"peak_rss_mib", "Peak resident memory (MiB)", "≤ 1024",
         [](const QJsonValue& v) { return allAtMost(v, 1024); }},
    };
    return list;
}

QString valueText(const QJsonValue& v) {
    if (v.isDouble()) return QString::number(v.toDouble(), 'g', 4);
    if (v.isObject()) {
        QStringList parts;
        const QJsonObject o = v.toObject();
        for (auto it = o.begin(); it != o.end(); ++it)
            parts << QStringLiteral("%1 %2").arg(it.key(), QString::number(it->toDouble(), 'g', 3));
        return parts.join(QStringLiteral(", "));
    }
    return QStringLiteral("—");
}

// The verdicts go into the JSON too, so a reader need not recompute them.
QJsonObject judge(const QJsonObject& result) {
    QJsonObject verdicts;
    for (const Bar& bar : bars()) {
        const QJsonValue v = result.value(QLatin1String(bar.key));
        bool pass = bar.pass(v);
        if (QLatin1String(bar.key) == QLatin1String("pixelcnn_cached_speedup"))
            pass = pass && result.value("pixelcnn_bit_identical").toBool();
        if (QLatin1String(bar.key) == QLatin1String("drag_p99_ms"))
            pass = pass && result.value("drag").toObject().value("final_always_answered").toBool();
        verdicts.insert(QLatin1String(bar.key),
                        QJsonObject{{"bar", QString::fromUtf8(bar.bar)},
                                    {"pass", v.isUndefined() ? QJsonValue() : QJsonValue(pass)}});
    }
    return verdicts;
}

QString markdown(const QJsonObject& result) {
    const QJsonObject verdicts = result.value("bars").toObject();
    QString md = QStringLiteral("| measure | result | bar | met |\n|---|---|---|---|\n");
    for (const Bar& bar : bars()) {
        const QJsonValue pass = verdicts.value(QLatin1String(bar.key)).toObject().value("pass");
        const QString met = pass.isBool()
                                ? (pass.toBool() ? QStringLiteral("yes") : QStringLiteral("**no**"))
                                : QStringLiteral("not run");
        md += QStringLiteral("| %1 | %2 | %3 | %4 |\n")
                  .arg(QString::fromUtf8(bar.what), valueText(result.value(QLatin1String(bar.key))),
                       QString::fromUtf8(bar.bar), met);
    }
    const QJsonObject m = result.value("machine").toObject();
    md += QStringLiteral("\n%1 cores, %2, LibTorch %3, %4; threads: LibTorch %5, BLAS %6%7\n")
              .arg(m.value("cores").toInt())
              .arg(m.value("cpu_model").toString(), m.value("libtorch_version").toString(),
                   m.value("blas").toString())
              .arg(m.value("threads_chosen").toObject().value("torch_intra_op").toInt())
              .arg(m.value("threads_chosen").toObject().value("blas").toInt())
              .arg(result.value("machine").toObject().value("quick").toBool()
                       ? QStringLiteral(" (--quick)")
                       : QString());
    return md;
}

QString firstExisting(const QStringList& candidates) {
    for (const QString& c : candidates)
        if (QFileInfo::exists(c)) return c;
    return candidates.isEmpty() ? QString() : candidates.front();
}

}  // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Latent Explorer's speed suite"));
    parser.addHelpOption();
    const QCommandLineOption jsonOption(QStringLiteral("json"), "Write the results here.", "file");
    const QCommandLineOption quickOption(QStringLiteral("quick"), "Under a minute: fewer repeats.");
    const QCommandLineOption onlyOption(QStringLiteral("only"),
                                        "Comma-separated suites: matmul, decode, drag, stall, "
                                        "pixelcnn, glow, training, threads, memory.",
                                        "suites");
    const QCommandLineOption deviceOption(QStringLiteral("device"), "cpu (default) or cuda.",
                                          "device", QStringLiteral("cpu"));
    const QCommandLineOption pretrainedOption(QStringLiteral("pretrained"),
                                              "Folder of shipped checkpoints.", "dir");
    const QCommandLineOption pythonOption(QStringLiteral("python"),
                                          "Interpreter with torch (python3-torch).", "path",
                                          QStringLiteral("/usr/bin/python3"));
    const QCommandLineOption familiesOption(
        QStringLiteral("families"), "Comma-separated families for the training suite.", "list");
    const QCommandLineOption trainSecondsOption(QStringLiteral("train-seconds"),
                                                "Seconds of C++ training per family.", "s");
    const QCommandLineOption probeOption(QStringLiteral("probe"), "Internal.", "name");
    parser.addOptions({jsonOption, quickOption, onlyOption, deviceOption, pretrainedOption,
                       pythonOption, familiesOption, trainSecondsOption, probeOption});
    parser.process(app);

    Context context;
    context.quick = parser.isSet(quickOption);
    context.device = parser.value(deviceOption);
    context.pretrainedDir =
        parser.isSet(pretrainedOption)
            ? parser.value(pretrainedOption)
            : QDir(QStringLiteral(LE_SOURCE_DIR)).filePath(QStringLiteral("models/pretrained"));
    context.python = parser.value(pythonOption);
    context.trainFamilies = parser.value(familiesOption).split(',', Qt::SkipEmptyParts);
    context.trainSeconds = parser.value(trainSecondsOption).toDouble();
    context.referenceScript = firstExisting(
        {QDir(QStringLiteral(LE_BENCH_DIR)).filePath(QStringLiteral("reference_train.py"))});
    context.selfPath = QCoreApplication::applicationFilePath();
    context.guiPath = QStringLiteral(LE_GUI_PATH);
    context.threads = configureThreads();
    QTemporaryDir temp;
    context.tempDir = temp.path();
    collectModels(context);

    const QString probe = parser.value(probeOption);
    if (probe == QLatin1String("threads")) return probeThreads(context);
    if (probe == QLatin1String("memory")) return probeMemory(context);
    if (!parser.isSet(jsonOption)) {
        std::cerr << "usage: latent-explorer-bench --json FILE [--quick]\n";
        return 2;
    }

    const QStringList only = parser.value(onlyOption).split(',', Qt::SkipEmptyParts);
    // The matrix product first: the training figures are shown as fractions of it.
    const std::vector<std::pair<QString, std::function<QJsonObject(Context&)>>> suites{
        {"matmul", benchMatmul},     {"decode", benchDecode},     {"drag", benchDrag},
        {"stall", benchStall},       {"pixelcnn", benchPixelCnn}, {"glow", benchGlow},
        {"training", benchTraining}, {"threads", benchThreads},   {"memory", benchMemory}};
    QJsonObject result{{"machine", machineInfo(context)}};
    QJsonObject errors, seconds, models;
    for (const BenchModel& m : context.models)
        models.insert(m.label(), QJsonObject{{"family", m.family},
                                             {"checkpoint", m.checkpoint},
                                             {"shipped", m.shipped}});
    result.insert("models", models);
    const auto start = Clock::now();
    for (const auto& [name, run] : suites) {
        if (!only.isEmpty() && !only.contains(name)) continue;
        const auto suiteStart = Clock::now();
        try {
            const QJsonObject part = run(context);
            for (auto it = part.begin(); it != part.end(); ++it) result.insert(it.key(), *it);
        } catch (const std::exception& e) {
            errors.insert(name, QString::fromUtf8(e.what()));
            logLine(QStringLiteral("%1 failed: %2").arg(name, e.what()));
        }
        seconds.insert(name, msSince(suiteStart) / 1000.0);
    }
    seconds.insert("total", msSince(start) / 1000.0);
    result.insert("suite_seconds", seconds);
    if (!errors.isEmpty()) result.insert("errors", errors);
    result.insert("bars", judge(result));

    QSaveFile out(parser.value(jsonOption));
    const QByteArray json = QJsonDocument(result).toJson(QJsonDocument::Indented);
    if (!out.open(QIODevice::WriteOnly) || out.write(json) != json.size() || !out.commit()) {
        std::cerr << "cannot write " << parser.value(jsonOption).toStdString() << "\n";
        return 3;
    }
    std::cout << markdown(result).toStdString();
    return errors.isEmpty() ? 0 : 1;
}
