#include "core/storage/checkpoint.h"

#include "core/errors.h"
#include "models/torchscript_model.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

#include <cmath>
#include <sstream>

namespace le {
namespace {

const QByteArray kMagic = QByteArrayLiteral("LATENT-EXPLORER-CHECKPOINT\n");
const QByteArray kZipMagic = QByteArrayLiteral("PK\x03\x04");
constexpr qint64 kMaxHeaderBytes = 1 << 20;

[[noreturn]] void fail(const QString& path, const QString& problem) {
    throw DataError(
        QStringLiteral("%1: %2").arg(QFileInfo(path).fileName(), problem).toStdString());
}

// A cursor over the file's bytes that reports truncation in the file's terms.
class Reader {
public:
    Reader(const QByteArray& bytes, const QString& path) : m_bytes(bytes), m_path(path) {}

    QByteArray take(qint64 n, const char* what) {
        if (n < 0 || m_pos + n > m_bytes.size())
            fail(m_path, QStringLiteral("truncated: %1 needs %2 bytes, only %3 left")
                             .arg(QLatin1String(what))
                             .arg(n)
                             .arg(m_bytes.size() - m_pos));
        QByteArray out = m_bytes.mid(m_pos, n);
        m_pos += n;
        return out;
    }

    qint64 lengthLine(const char* what) {
        const qsizetype end = m_bytes.indexOf('\n', m_pos);
        if (end < 0 || end - m_pos > 20)
            fail(m_path,
                 QStringLiteral("truncated or corrupt: no %1 length").arg(QLatin1String(what)));
        bool ok = false;
        const qint64 n = m_bytes.mid(m_pos, end - m_pos).toLongLong(&ok);
        if (!ok || n < 0)
            fail(m_path, QStringLiteral("corrupt %1 length").arg(QLatin1String(what)));
        m_pos = end + 1;
        return n;
    }

    qint64 pos() const { return m_pos; }

private:
    const QByteArray& m_bytes;
    QString m_path;
    qint64 m_pos = 0;
};

QByteArray readAll(const QString& path) {
    QFile file(path);
    if (!file.exists()) fail(path, QStringLiteral("does not exist"));
    if (!file.open(QIODevice::ReadOnly))
        fail(path, QStringLiteral("cannot be read: ") + file.errorString());
    return file.readAll();
}

struct ParsedFile {
    CheckpointHeader header;
    QByteArray weights;
};

ParsedFile parse(const QString& path, bool withWeights) {
    const QByteArray bytes = readAll(path);
    if (!bytes.startsWith(kMagic))
        fail(path, QStringLiteral("is not a Latent Explorer checkpoint (no checkpoint signature)"));
    Reader reader(bytes, path);
    reader.take(kMagic.size(), "signature");
    const qint64 headerBytes = reader.lengthLine("header");
    if (headerBytes > kMaxHeaderBytes) fail(path, QStringLiteral("corrupt header length"));
    const QByteArray headerJson = reader.take(headerBytes, "the header");
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(headerJson, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        fail(path, QStringLiteral("corrupt header: ") + error.errorString());
    ParsedFile parsed{CheckpointHeader::fromJson(doc.object(), path), {}};

    const qint64 weightBytes = reader.lengthLine("weights");
    QByteArray weights = reader.take(weightBytes, "the weights");
    const qint64 payloadEnd = reader.pos();
    const QByteArray trailer = reader.take(65, "the checksum").trimmed();
    if (withWeights) {
        const QByteArray actual =
            QCryptographicHash::hash(QByteArrayView(bytes.constData(), payloadEnd),
                                     QCryptographicHash::Sha256)
                .toHex();
        if (actual != trailer)
            fail(path,
                 QStringLiteral("corrupt: checksum mismatch (the file was modified or damaged)"));
        parsed.weights = std::move(weights);
    }
    return parsed;
}

// The container around any module's weights; header.family, config and shape are the caller's.
void writeCheckpoint(const QString& path, CheckpointHeader header, const std::string& weights) {
    header.format = kCheckpointFormat;
    if (header.created.isEmpty())
        header.created = QDateTime::currentDateTimeUtc().toString(Qt::ISODate);
    const QByteArray headerJson = QJsonDocument(header.toJson()).toJson(QJsonDocument::Compact);

    QByteArray payload = kMagic;
    payload += QByteArray::number(headerJson.size()) + '\n' + headerJson;
    payload += QByteArray::number(qint64(weights.size())) + '\n';
    payload.append(weights.data(), qsizetype(weights.size()));
    payload += QCryptographicHash::hash(payload, QCryptographicHash::Sha256).toHex() + '\n';

    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        fail(path, QStringLiteral("cannot be written: ") + file.errorString());
    if (file.write(payload) != payload.size() || !file.commit())
        fail(path, QStringLiteral("cannot be written: ") + file.errorString());
}

void checkFamily(const QString& path, const CheckpointHeader& header, const QString& expected) {
    if (!expected.isEmpty() && header.family != expected)
        fail(path, QStringLiteral("is a %1 checkpoint, not a %2 one").arg(header.family, expected));
}

std::istringstream weightStream(const QByteArray& weights) {
    return std::istringstream(std::string(weights.constData(), size_t(weights.size())));
}

// A TorchScript file (docs/torchscript.md) is a zip archive; so is one that was meant to be and is
// damaged only past its first bytes. A non-zip file with a TorchScript suffix is read as
// TorchScript too, so that its error speaks of TorchScript rather than of .lec signatures.
bool isTorchScriptPath(const QString& path) {
    QFile file(path);
    if (file.open(QIODevice::ReadOnly) && file.read(kZipMagic.size()) == kZipMagic) return true;
    const QString suffix = QStringLiteral("*.") + QFileInfo(path).suffix().toLower();
    return suffix != QLatin1String("*.lec") && modelFileFilters().contains(suffix);
}

bool isWhole(const QJsonValue& v) {
    return v.isDouble() && std::floor(v.toDouble()) == v.toDouble() && std::isfinite(v.toDouble());
}

// The metadata's fields, checked for form; what they mean to the module is the model's check.
TorchScriptMetadata parseTorchScriptMetadata(const QString& path, const QJsonObject& json) {
    const QString file = QString::fromLatin1(kTorchScriptMetadataFile);
    auto bad = [&](const QString& problem) { fail(path, file + QStringLiteral(": ") + problem); };
    if (json.value("format").toString() != QLatin1String(kTorchScriptFormat))
        bad(QStringLiteral("format is '%1', not '%2'")
                .arg(json.value("format").toVariant().toString(),
                     QLatin1String(kTorchScriptFormat)));
    const QJsonValue version = json.value("version");
    if (!isWhole(version) || version.toInteger() < 1) bad(QStringLiteral("no valid version"));
    if (version.toInteger() > kTorchScriptVersion)
        bad(QStringLiteral("version %1 is newer than this build reads (%2)")
                .arg(version.toInteger())
                .arg(kTorchScriptVersion));

    TorchScriptMetadata m;
    const QJsonValue kind = json.value("kind");
    m.kind = kind.isUndefined() ? std::string("other") : kind.toString().toStdString();
    if (!isTorchScriptKind(m.kind))
        bad(QStringLiteral("kind '%1' is not one of vae, gan, flow, autoregressive, hybrid, other")
                .arg(json.value("kind").toVariant().toString()));
    m.title = json.value("title").toString(QFileInfo(path).completeBaseName()).toStdString();
    m.dataset = json.value("dataset").toString().toStdString();

    const QJsonArray shape = json.value("image_shape").toArray();
    if (shape.size() != 3 || !isWhole(shape[0]) || !isWhole(shape[1]) || !isWhole(shape[2]))
        bad(QStringLiteral("image_shape must be [C, H, W]"));
    ModelConfig config;
    writeImageShape(config,
                    ImageShape{shape[0].toInteger(), shape[1].toInteger(), shape[2].toInteger()});
    try {
        m.shape = imageShapeFromConfig(config);  // the app's limits: 1 or 3 channels, 8..256 px
    } catch (const ModelError& e) {
        bad(QStringLiteral("image_shape: ") + QString::fromStdString(e.what()));
    }

    const QJsonValue latent = json.value("latent_size");
    if (!isWhole(latent) || latent.toInteger() < 1 || latent.toInteger() > 1000000)
        bad(QStringLiteral("latent_size must be a positive integer"));
    m.latentSize = latent.toInteger();

    if (json.contains("value_range")) {
        const QJsonArray range = json.value("value_range").toArray();
        if (range.size() != 2 || !range[0].isDouble() || !range[1].isDouble() ||
            !(range[0].toDouble() < range[1].toDouble()))
            bad(QStringLiteral("value_range must be [low, high] with low < high"));
        m.low = range[0].toDouble();
        m.high = range[1].toDouble();
    }
    return m;
}

struct TorchScriptCheckpoint {
    CheckpointHeader header;
    TorchScriptMetadata metadata;
    TorchScriptFile file;
};

// Reads the module (torch::jit::load, nothing unpickled here) and synthesises a header from its
// metadata, so that everything that reads headers (info, the catalog, the views) needs no second
// path.
TorchScriptCheckpoint readTorchScript(const QString& path) {
    TorchScriptCheckpoint out;
    try {
        out.file = readTorchScriptFile(QFile::encodeName(path).toStdString());
    } catch (const ModelError& e) {
        throw DataError(e.what());  // already "file: problem"
    }
    if (out.file.metadata.empty())
        fail(path, QStringLiteral("is TorchScript but has no %1 metadata (save it with "
                                  "torch.jit.save(m, path, _extra_files={\"%1\": ...}); see "
                                  "docs/torchscript.md)")
                       .arg(QLatin1String(kTorchScriptMetadataFile)));
    QJsonParseError error;
    const QJsonDocument doc =
        QJsonDocument::fromJson(QByteArray::fromStdString(out.file.metadata), &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        fail(path, QStringLiteral("%1 is not a JSON object: %2")
                       .arg(QLatin1String(kTorchScriptMetadataFile), error.errorString()));
    const QJsonObject json = doc.object();
    out.metadata = parseTorchScriptMetadata(path, json);

    CheckpointHeader& h = out.header;
    const TorchScriptMetadata& m = out.metadata;
    h.family = QString::fromStdString(torchScriptFamily(m.kind));
    h.config.set("kind", m.kind);
    h.config.set("title", m.title);
    h.config.set("latent", m.latentSize);
    QStringList methods;
    for (const std::string& method : out.file.methods) methods << QString::fromStdString(method);
    h.config.set("methods", methods.join(',').toStdString());
    h.dataset = QString::fromStdString(m.dataset);
    h.shape = m.shape;
    h.steps = json.value("steps").toInteger();
    h.metrics = json.value("metrics").toObject();
    h.created = QFileInfo(path).lastModified().toUTC().toString(Qt::ISODate);
    h.extra = QJsonObject{{"source", "torchscript"}, {"metadata", json}};
    return out;
}

LoadedCheckpoint loadTorchScript(const QString& path, torch::Device device,
                                 const QString& expectedFamily) {
    TorchScriptCheckpoint read = readTorchScript(path);
    checkFamily(path, read.header, expectedFamily);
    LoadedCheckpoint loaded{read.header, nullptr};
    try {
        loaded.model = std::make_unique<TorchScriptModel>(
            std::move(read.file.module), read.metadata, QFileInfo(path).fileName().toStdString());
        loaded.model->to(device);
        loaded.model->train(false);
    } catch (const ModelError& e) {
        throw DataError(e.what());  // the model names the file
    } catch (const c10::Error& e) {
        fail(path, QString::fromStdString(e.what_without_backtrace()));
    }
    return loaded;
}

}  // namespace

QJsonObject CheckpointHeader::toJson() const {
    QJsonObject cfg;
    for (const auto& [key, value] : config.values())
        cfg.insert(QString::fromStdString(key), QString::fromStdString(value));
    return QJsonObject{
        {"format", format},
        {"family", family},
        {"config", cfg},
        {"dataset", dataset},
        {"image_shape",
         QJsonArray{qint64(shape.channels), qint64(shape.height), qint64(shape.width)}},
        {"steps", steps},
        {"metrics", metrics},
        {"created", created},
        {"extra", extra},
    };
}

CheckpointHeader CheckpointHeader::fromJson(const QJsonObject& json, const QString& path) {
    CheckpointHeader h;
    if (!json.value("format").isDouble())
        fail(path, QStringLiteral("header has no format version"));
    h.format = json.value("format").toInt();
    if (h.format != kCheckpointFormat)
        fail(path,
             QStringLiteral("checkpoint format %1 is not supported (this build reads format %2)")
                 .arg(h.format)
                 .arg(kCheckpointFormat));
    h.family = json.value("family").toString();
    if (h.family.isEmpty()) fail(path, QStringLiteral("header names no model family"));
    if (!json.value("config").isObject()) fail(path, QStringLiteral("header has no config"));
    const QJsonObject cfg = json.value("config").toObject();
    for (auto it = cfg.begin(); it != cfg.end(); ++it)
        h.config.set(it.key().toStdString(), it.value().toString().toStdString());
    h.dataset = json.value("dataset").toString();
    const QJsonArray shape = json.value("image_shape").toArray();
    if (shape.size() != 3) fail(path, QStringLiteral("header has no valid image_shape"));
    h.shape = ImageShape{shape[0].toInteger(), shape[1].toInteger(), shape[2].toInteger()};
    if (h.shape.channels <= 0 || h.shape.height <= 0 || h.shape.width <= 0)
        fail(path, QStringLiteral("header has an invalid image_shape"));
    h.steps = json.value("steps").toInteger();
    h.metrics = json.value("metrics").toObject();
    h.created = json.value("created").toString();
    h.extra = json.value("extra").toObject();
    return h;
}

void saveCheckpoint(const QString& path, GenerativeModel& model, CheckpointHeader header) {
    if (isTorchScriptFamily(model.family()))
        fail(path, QStringLiteral("a TorchScript model is not saved as a .lec checkpoint: its "
                                  "TorchScript file is the model (export it again from Python)"));
    header.family = QString::fromStdString(model.family());
    header.config = model.config();
    header.shape = model.imageShape();
    std::ostringstream weights;
    model.saveWeights(weights);
    writeCheckpoint(path, std::move(header), weights.str());
}

void saveClassifierCheckpoint(const QString& path, Classifier& classifier,
                              CheckpointHeader header) {
    header.family = QString::fromLatin1(Classifier::kFamily);
    header.config = classifier.config();
    header.shape = classifier.imageShape();
    std::ostringstream weights;
    classifier.saveWeights(weights);
    writeCheckpoint(path, std::move(header), weights.str());
}

QStringList modelFileFilters() {
    return {QStringLiteral("*.lec"), QStringLiteral("*.pt"), QStringLiteral("*.ts"),
            QStringLiteral("*.pth")};
}

CheckpointHeader readCheckpointHeader(const QString& path) {
    // Reading a TorchScript file's metadata loads it whole; checking it too costs little more,
    // and a header never vouches for a module that fails at first use.
    if (isTorchScriptPath(path)) return loadTorchScript(path, torch::kCPU, QString()).header;
    return parse(path, false).header;
}

torch::Device deviceFromName(const QString& name) {
    try {
        return parseDevice(name.toStdString());
    } catch (const ModelError& e) {
        throw DataError(e.what());
    }
}

LoadedCheckpoint loadCheckpoint(const QString& path, torch::Device device,
                                const QString& expectedFamily) {
    if (isTorchScriptPath(path)) return loadTorchScript(path, device, expectedFamily);
    ParsedFile parsed = parse(path, true);
    CheckpointHeader& h = parsed.header;
    checkFamily(path, h, expectedFamily);
    if (h.family == QLatin1String(Classifier::kFamily))
        fail(path, QStringLiteral("is a classifier checkpoint, not a generative model"));
    LoadedCheckpoint loaded{h, nullptr};
    try {
        if (!ModelRegistry::instance().has(h.family.toStdString()))
            fail(path, QStringLiteral("names an unknown model family '%1'").arg(h.family));
        ModelConfig config = h.config;
        writeImageShape(config, h.shape);
        loaded.model =
            ModelRegistry::instance().create(h.family.toStdString(), config, torch::kCPU);
        std::istringstream weights = weightStream(parsed.weights);
        loaded.model->loadWeights(weights);
        loaded.model->to(device);
        loaded.model->train(false);
    } catch (const ModelError& e) {
        fail(path, QString::fromStdString(e.what()));
    } catch (const c10::Error& e) {
        fail(path, QString::fromStdString(e.what_without_backtrace()));
    }
    return loaded;
}

LoadedClassifier loadClassifierCheckpoint(const QString& path, torch::Device device) {
    ParsedFile parsed = parse(path, true);
    const CheckpointHeader& h = parsed.header;
    checkFamily(path, h, QString::fromLatin1(Classifier::kFamily));
    LoadedClassifier loaded{h, nullptr};
    try {
        ModelConfig config = h.config;
        writeImageShape(config, h.shape);
        loaded.classifier = std::make_unique<Classifier>(ClassifierOptions::fromConfig(config));
        std::istringstream weights = weightStream(parsed.weights);
        loaded.classifier->loadWeights(weights);
        loaded.classifier->to(device);
        loaded.classifier->train(false);
    } catch (const ModelError& e) {
        fail(path, QString::fromStdString(e.what()));
    } catch (const c10::Error& e) {
        fail(path, QString::fromStdString(e.what_without_backtrace()));
    }
    return loaded;
}

}  // namespace le
