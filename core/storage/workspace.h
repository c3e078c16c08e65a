#pragma once

// A workspace: the whole state of the explorer in one file (*.lew), so that a lesson or an
// experiment can be put away and reopened as it was — the models, every view's controls, seeds,
// latents, masks, endpoints and autoregressive branches. JSON with a format name and version;
// images travel inside it as PNG (base64), files as references that still resolve after the
// workspace and its models move together, or when only the shipped models are at hand.
//
// Reading is strict about the container (a file that is not a workspace, cut short, or of a newer
// version is refused whole, with the file and the problem named, and nothing is applied) and
// lenient about its contents: a missing model or an undecodable image is left out with a warning,
// and everything else is restored.

#include <QJsonObject>
#include <QJsonValue>
#include <QString>
#include <QStringList>

#include <opencv2/core.hpp>

namespace le {

constexpr int kWorkspaceVersion = 1;
inline const char* const kWorkspaceSuffix = "lew";

// Writes the state as a workspace file (format name, version and time added), atomically: write,
// flush, rename. Throws DataError naming the file.
void saveWorkspaceFile(const QString& path, const QJsonObject& state);
// Reads and checks a workspace file; returns its state (the object saveWorkspaceFile was given,
// with the format keys). Throws DataError naming the file and the problem.
QJsonObject loadWorkspaceFile(const QString& path);

// What a view uses to put files and images into a workspace and take them out again. Collects a
// warning for everything it cannot restore.
class WorkspaceContext {
public:
    // `workspacePath`: the file being written or read (references are kept relative to its
    // folder too). `searchDirs`: where a model that moved is looked for by file name (the shipped
    // models, the user's checkpoints).
    explicit WorkspaceContext(const QString& workspacePath, const QStringList& searchDirs = {});

    // {"path": absolute, "relative": from the workspace's folder}.
    QJsonValue fileRef(const QString& path) const;
    // The file a reference names: the absolute path, else the relative one, else a file of that
    // name in the search folders. Empty (and a warning naming `what`) when none exists; empty
    // without a warning for an empty reference.
    QString resolveFile(const QJsonValue& ref, const QString& what);

    // 8-bit grey or RGB (RGB order) as a base64 PNG string; exact, so masks and images come back
    // bit for bit. An empty image is null.
    static QJsonValue imageToJson(const cv::Mat& image);
    // Back to an 8-bit grey or RGB Mat; empty for null, empty with a warning naming `what` when
    // the data cannot be decoded.
    cv::Mat imageFromJson(const QJsonValue& value, const QString& what);

    void warn(const QString& message) { m_warnings << message; }
    const QStringList& warnings() const { return m_warnings; }

private:
    QString m_folder;
    QStringList m_searchDirs;
    QStringList m_warnings;
};

}  // namespace le
