#include "core/storage/model_cache.h"

#include <QFileInfo>

namespace le {

std::shared_ptr<const CachedModel> ModelCache::get(const QString& path, const QString& device) {
    const torch::Device where = deviceFromName(device);
    const QString deviceName = QString::fromStdString(where.str());
    const QFileInfo file(path);
    const QString key = file.absoluteFilePath() + '|' + deviceName;
    auto it = m_entries.find(key);
    if (it != m_entries.end() && it->second.modified == file.lastModified() &&
        it->second.bytes == file.size())
        return it->second.loaded;

    LoadedCheckpoint checkpoint = loadCheckpoint(path, where);
    auto loaded = std::make_shared<CachedModel>();
    loaded->path = path;
    loaded->device = deviceName;
    loaded->header = std::move(checkpoint.header);
    loaded->model = std::shared_ptr<GenerativeModel>(std::move(checkpoint.model));
    loaded->model->train(false);
    m_entries[key] = Entry{loaded, file.lastModified(), file.size()};
    return loaded;
}

void ModelCache::keepOnly(const QStringList& paths) {
    QStringList wanted;
    for (const QString& p : paths) wanted << QFileInfo(p).absoluteFilePath();
    for (auto it = m_entries.begin(); it != m_entries.end();) {
        const QString path = it->first.left(it->first.lastIndexOf('|'));
        it = wanted.contains(path) ? std::next(it) : m_entries.erase(it);
    }
}

}  // namespace le
