#include "core/data/fashion_mnist.h"

#include "core/errors.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace le {

namespace {

constexpr uint32_t kImagesMagic = 2051;
constexpr uint32_t kLabelsMagic = 2049;

[[noreturn]] void fail(const QString& path, const QString& what) {
    throw DataError(
        QStringLiteral("%1: %2").arg(QDir::toNativeSeparators(path), what).toStdString());
}

// The whole decompressed stream. A stream that ends early is returned as far as it goes, so the
// caller can say how much of the payload is missing rather than only "bad gzip".
std::vector<uint8_t> gunzipFile(const QString& path) {
    QFileInfo info(path);
    if (!info.exists()) fail(path, QStringLiteral("does not exist"));
    if (!info.isFile()) fail(path, QStringLiteral("is not a file"));
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        fail(path, QStringLiteral("cannot open: ") + file.errorString());
    const QByteArray packed = file.readAll();
    if (packed.size() < 18 || uint8_t(packed[0]) != 0x1f || uint8_t(packed[1]) != 0x8b)
        fail(path, QStringLiteral("not a gzip file"));

    // ISIZE, the last four bytes, is the uncompressed size mod 2^32: a good first guess.
    const auto* tail = reinterpret_cast<const uint8_t*>(packed.constData() + packed.size() - 4);
    const size_t hint =
        size_t(tail[0]) | size_t(tail[1]) << 8 | size_t(tail[2]) << 16 | size_t(tail[3]) << 24;
    std::vector<uint8_t> out(std::clamp<size_t>(hint, 1 << 16, size_t(1) << 30));

    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        fail(path, QStringLiteral("zlib initialisation failed"));
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.constData()));
    zs.avail_in = uInt(packed.size());
    size_t produced = 0;
    for (;;) {
        if (produced == out.size()) out.resize(out.size() * 2);
        zs.next_out = out.data() + produced;
        zs.avail_out = uInt(std::min<size_t>(out.size() - produced, 1u << 30));
        const uInt before = zs.avail_out;
        const int rc = inflate(&zs, Z_NO_FLUSH);
        produced += before - zs.avail_out;
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0) break;
            inflateReset(&zs);  // concatenated gzip members are one file
            continue;
        }
        if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // the stream stops early: truncated
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            const QString msg = zs.msg ? QString::fromUtf8(zs.msg) : QString::number(rc);
            inflateEnd(&zs);
            fail(path, QStringLiteral("corrupt gzip data (%1)").arg(msg));
        }
    }
    inflateEnd(&zs);
    out.resize(produced);
    return out;
}

uint32_t bigEndian32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

struct Idx {
    std::vector<uint8_t> bytes;
    std::vector<int64_t> dims;
    size_t payloadOffset = 0;
};

// Checks the magic number (which also fixes the element type, unsigned byte, and the rank),
// the dimensions and that the payload is all there.
Idx readIdx(const QString& path, uint32_t magic, const char* what) {
    Idx idx;
    idx.bytes = gunzipFile(path);
    const int rank = int(magic & 0xff);
    const size_t header = 4 + 4 * size_t(rank);
    if (idx.bytes.size() < 4) fail(path, QStringLiteral("truncated: no idx header"));
    const uint32_t found = bigEndian32(idx.bytes.data());
    if (found != magic) {
        fail(path, QStringLiteral("wrong magic number %1 (expected %2 for idx %3)")
                       .arg(found)
                       .arg(magic)
                       .arg(QLatin1String(what)));
    }
    if (idx.bytes.size() < header)
        fail(path, QStringLiteral("truncated: idx header needs %1 bytes, got %2")
                       .arg(header)
                       .arg(idx.bytes.size()));
    size_t expected = 1;
    for (int d = 0; d < rank; ++d) {
        const uint32_t n = bigEndian32(idx.bytes.data() + 4 + 4 * d);
        if (d > 0 && n == 0) fail(path, QStringLiteral("dimension %1 is zero").arg(d));
        if (n > (1u << 28)) fail(path, QStringLiteral("implausible dimension %1").arg(n));
        idx.dims.push_back(int64_t(n));
        expected *= n;
    }
    const size_t got = idx.bytes.size() - header;
    if (got < expected) {
        fail(path, QStringLiteral("truncated: expected %1 bytes of %2 data, got %3")
                       .arg(expected)
                       .arg(QLatin1String(rank == 3 ? "pixel" : "label"))
                       .arg(got));
    }
    if (got > expected)
        fail(path, QStringLiteral("%1 bytes of trailing data after the %2 expected")
                       .arg(got - expected)
                       .arg(expected));
    idx.payloadOffset = header;
    return idx;
}

}  // namespace

QString defaultFashionMnistDir() {
    return QStringLiteral("/usr/share/datasets/fashion-mnist");
}

torch::Tensor readIdxImages(const QString& path) {
    const Idx idx = readIdx(path, kImagesMagic, "images");
    const auto& d = idx.dims;
    // One copy out of the decompression buffer; no per-pixel work.
    return torch::from_blob(const_cast<uint8_t*>(idx.bytes.data() + idx.payloadOffset),
                            {d[0], 1, d[1], d[2]}, torch::kUInt8)
        .clone();
}

torch::Tensor readIdxLabels(const QString& path) {
    const Idx idx = readIdx(path, kLabelsMagic, "labels");
    return torch::from_blob(const_cast<uint8_t*>(idx.bytes.data() + idx.payloadOffset),
                            {idx.dims[0]}, torch::kUInt8)
        .to(torch::kLong);
}

namespace {

ImageSet loadSplit(const QDir& dir, const QString& prefix, int64_t limit,
                   const QStringList& classNames) {
    const QString imagesPath = dir.filePath(prefix + QStringLiteral("-images-idx3-ubyte.gz"));
    const QString labelsPath = dir.filePath(prefix + QStringLiteral("-labels-idx1-ubyte.gz"));
    torch::Tensor images = readIdxImages(imagesPath);
    torch::Tensor labels = readIdxLabels(labelsPath);
    if (images.size(2) != 28 || images.size(3) != 28) {
        fail(imagesPath, QStringLiteral("images are %1x%2, Fashion-MNIST's are 28x28")
                             .arg(images.size(2))
                             .arg(images.size(3)));
    }
    if (images.size(0) != labels.size(0)) {
        fail(labelsPath, QStringLiteral("%1 labels for %2 images in %3")
                             .arg(labels.size(0))
                             .arg(images.size(0))
                             .arg(QFileInfo(imagesPath).fileName()));
    }
    if (labels.numel() > 0 && labels.max().item<int64_t>() >= classNames.size())
        fail(labelsPath, QStringLiteral("label %1 out of range 0..%2")
                             .arg(labels.max().item<int64_t>())
                             .arg(classNames.size() - 1));
    if (limit > 0 && limit < images.size(0)) {
        images = images.slice(0, 0, limit);
        labels = labels.slice(0, 0, limit).contiguous();
    }
    ImageSet set;
    set.images = images.to(torch::kFloat).div_(127.5).sub_(1.0).contiguous();
    set.labels = labels;
    return set;
}

}  // namespace

Dataset loadFashionMnist(const QString& dir, int64_t limitTrain, int64_t limitTest) {
    Dataset ds;
    ds.name = QStringLiteral("fashion-mnist");
    ds.shape = ImageShape{1, 28, 28};
    ds.classNames = {QStringLiteral("T-shirt/top"), QStringLiteral("Trouser"),
                     QStringLiteral("Pullover"),    QStringLiteral("Dress"),
                     QStringLiteral("Coat"),        QStringLiteral("Sandal"),
                     QStringLiteral("Shirt"),       QStringLiteral("Sneaker"),
                     QStringLiteral("Bag"),         QStringLiteral("Ankle boot")};
    const QDir d(dir);
    ds.train = loadSplit(d, QStringLiteral("train"), limitTrain, ds.classNames);
    ds.test = loadSplit(d, QStringLiteral("t10k"), limitTest, ds.classNames);
    return ds;
}

}  // namespace le
