#include "core/storage/checkpoint.h"

#include "core/errors.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

#include <sstream>

namespace le {
namespace {

const QByteArray kMagic = QByteArrayLiteral("LATENT-EXPLORER-CHECKPOINT\n");
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

CheckpointHeader readCheckpointHeader(const QString& path) {
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
