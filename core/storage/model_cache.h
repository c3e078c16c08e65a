#pragma once

// Loaded checkpoints by (absolute path, device), for the thread that runs them: the interactive
// engine, every job and the autoregressive session each own one. One cache per thread, not one
// for the process, because a model is not safe to run from two threads at once (train/eval
// modes, gradient flags, the caches inside a flow step). A file rewritten since it was loaded (a
// training run's checkpoint) loads again.

#include "core/storage/checkpoint.h"

#include <QDateTime>
#include <QString>
#include <QStringList>

#include <map>
#include <memory>

namespace le {

struct CachedModel {
    QString path;    // as asked for
    QString device;  // "cpu", "cuda:0"
    CheckpointHeader header;
    std::shared_ptr<GenerativeModel> model;  // in eval mode when handed out
};

class ModelCache {
public:
    // The checkpoint on the device ("auto", "cpu", "cuda", "cuda:N"), loaded once; every failure
    // is a DataError naming the file. The entry stays valid while held, even once evicted.
    std::shared_ptr<const CachedModel> get(const QString& path, const QString& device);
    // Forgets every model whose path is not in `paths` (a request no longer wants them).
    void keepOnly(const QStringList& paths);
    void clear() { m_entries.clear(); }
    int size() const { return int(m_entries.size()); }

private:
    struct Entry {
        std::shared_ptr<CachedModel> loaded;
        QDateTime modified;
        qint64 bytes = 0;
    };
    std::map<QString, Entry> m_entries;  // key: absolute path|device
};

}  // namespace le
