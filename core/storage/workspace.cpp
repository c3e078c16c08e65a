#include "core/storage/workspace.h"

#include "core/errors.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QSaveFile>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace le {

namespace {

const char* const kFormat = "latent-explorer-workspace";
constexpr qint64 kMaxWorkspaceBytes = qint64(256) << 20;  // images are small; more is not ours

[[noreturn]] void fail(const QString& path, const QString& what) {
    throw DataError(
        QStringLiteral("%1: %2").arg(QDir::toNativeSeparators(path), what).toStdString());
}

}  // namespace

void saveWorkspaceFile(const QString& path, const QJsonObject& state) {
    QJsonObject root = state;
    root.insert(QStringLiteral("format"), QString::fromLatin1(kFormat));
    root.insert(QStringLiteral("version"), kWorkspaceVersion);
    root.insert(QStringLiteral("saved"),
                QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs));
    // QSaveFile writes beside the target and renames over it: a crash leaves the old file whole.
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        fail(path, QStringLiteral("cannot write: ") + file.errorString());
    const QByteArray bytes = QJsonDocument(root).toJson(QJsonDocument::Indented);
    if (file.write(bytes) != bytes.size() || !file.commit())
        fail(path, QStringLiteral("cannot write: ") + file.errorString());
}

QJsonObject loadWorkspaceFile(const QString& path) {
    const QFileInfo info(path);
    if (!info.exists()) fail(path, QStringLiteral("does not exist"));
    if (!info.isFile()) fail(path, QStringLiteral("is not a file"));
    if (info.size() > kMaxWorkspaceBytes)
        fail(path, QStringLiteral("is %1 MiB, too large to be a workspace").arg(info.size() >> 20));
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        fail(path, QStringLiteral("cannot open: ") + file.errorString());
    const QByteArray bytes = file.readAll();
    if (bytes.trimmed().isEmpty()) fail(path, QStringLiteral("is empty"));

    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &error);
    if (error.error != QJsonParseError::NoError)
        fail(path, QStringLiteral("corrupt or truncated: %1 at byte %2")
                       .arg(error.errorString())
                       .arg(error.offset));
    const QJsonObject root = doc.object();
    if (!doc.isObject() || root.value(QStringLiteral("format")).toString() != kFormat)
        fail(path, QStringLiteral("is not a Latent Explorer workspace"));
    const QJsonValue version = root.value(QStringLiteral("version"));
    if (!version.isDouble() || version.toDouble() < 1 ||
        version.toDouble() != double(version.toInt()))
        fail(path, QStringLiteral("has no valid format version"));
    if (version.toInt() > kWorkspaceVersion)
        fail(path, QStringLiteral("was written by a newer Latent Explorer (workspace version %1; "
                                  "this one reads version %2)")
                       .arg(version.toInt())
                       .arg(kWorkspaceVersion));
    for (const char* key : {"views", "models", "window"}) {
        const QJsonValue value = root.value(QLatin1String(key));
        if (!value.isUndefined() && !value.isObject())
            fail(path, QStringLiteral("corrupt: \"%1\" is not an object").arg(QLatin1String(key)));
    }
    return root;
}

WorkspaceContext::WorkspaceContext(const QString& workspacePath, const QStringList& searchDirs)
    : m_folder(QFileInfo(workspacePath).absolutePath()), m_searchDirs(searchDirs) {}

QJsonValue WorkspaceContext::fileRef(const QString& path) const {
    if (path.isEmpty()) return QJsonValue::Null;
    const QString absolute = QFileInfo(path).absoluteFilePath();
    return QJsonObject{{"path", absolute}, {"relative", QDir(m_folder).relativeFilePath(absolute)}};
}

QString WorkspaceContext::resolveFile(const QJsonValue& ref, const QString& what) {
    const QJsonObject object = ref.toObject();
    const QString absolute = object.value(QStringLiteral("path")).toString();
    const QString relative = object.value(QStringLiteral("relative")).toString();
    if (absolute.isEmpty() && relative.isEmpty()) return {};
    QStringList candidates;
    if (!absolute.isEmpty()) candidates << absolute;
    if (!relative.isEmpty()) candidates << QDir(m_folder).absoluteFilePath(relative);
    const QString name = QFileInfo(absolute.isEmpty() ? relative : absolute).fileName();
    for (const QString& dir : m_searchDirs) candidates << QDir(dir).absoluteFilePath(name);
    for (const QString& candidate : candidates)
        if (QFileInfo(candidate).isFile()) return QDir::cleanPath(candidate);
    warn(QStringLiteral("%1: %2 is missing").arg(what, absolute.isEmpty() ? relative : absolute));
    return {};
}

QJsonValue WorkspaceContext::imageToJson(const cv::Mat& image) {
    if (image.empty()) return QJsonValue::Null;
    CV_Assert(image.depth() == CV_8U && (image.channels() == 1 || image.channels() == 3));
    cv::Mat bgr;  // a new buffer: converting into a header of `image` would write into it
    if (image.channels() == 3)
        cv::cvtColor(image, bgr, cv::COLOR_RGB2BGR);
    else
        bgr = image;
    std::vector<uchar> png;
    cv::imencode(".png", bgr, png);
    return QString::fromLatin1(
        QByteArray(reinterpret_cast<const char*>(png.data()), int(png.size())).toBase64());
}

cv::Mat WorkspaceContext::imageFromJson(const QJsonValue& value, const QString& what) {
    if (value.isNull() || value.isUndefined()) return {};
    const QByteArray png = QByteArray::fromBase64(value.toString().toLatin1());
    cv::Mat decoded;
    if (!png.isEmpty()) {
        try {
            const cv::Mat buffer(1, int(png.size()), CV_8U, const_cast<char*>(png.constData()));
            decoded = cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
        } catch (const cv::Exception&) {
            decoded.release();
        }
    }
    if (decoded.empty() || decoded.depth() != CV_8U ||
        (decoded.channels() != 1 && decoded.channels() != 3)) {
        warn(QStringLiteral("%1: the stored image cannot be decoded").arg(what));
        return {};
    }
    if (decoded.channels() == 3) cv::cvtColor(decoded, decoded, cv::COLOR_BGR2RGB);
    return decoded;
}

}  // namespace le
