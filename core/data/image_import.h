#pragma once

// Images from files: one file of any format OpenCV decodes, or a folder as a dataset, with an
// optional face crop, fitted to the shape a model needs.

#include "core/data/dataset.h"

#include <QString>
#include <QStringList>

#include <opencv2/core.hpp>

namespace le {

struct ImportOptions {
    ImageShape shape{3, 32, 32};  // what the model needs: channels and size
    bool faceCrop = false;        // Haar-cascade crop of the largest face
    double faceMargin = 0.25;     // extra border around the detected face, as a fraction
    bool centreCrop = true;       // square centre crop before resizing (CelebA-style aligned)
};

// Reads one image file of any format OpenCV decodes (PNG, JPEG, BMP, WebP, TIFF); grey, RGBA and
// 16-bit are converted; returns 8-bit RGB. Throws DataError naming the file and the reason.
cv::Mat readImageFile(const QString& path);
// Crop, resize and channel conversion as the options say; returns a 1×C×H×W tensor in [-1, 1].
torch::Tensor prepareImage(const cv::Mat& rgb, const ImportOptions& options);
// Largest face by the Haar cascade from opencv-data, with margin, squared; empty rect if none.
cv::Rect detectLargestFace(const cv::Mat& rgb, double margin);
QString defaultFaceCascadePath();

struct ImportReport {
    QStringList skipped;  // "name: reason" for every file that could not be used
};

// A file or a folder (not recursive) into a Dataset, with a fixed split (every tenth image is
// test, at least one). Unreadable files are reported and skipped; none readable is a DataError.
Dataset importImages(const QString& path, const ImportOptions& options, ImportReport* report);

}  // namespace le
