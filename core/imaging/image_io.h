#pragma once

// Images at the edges: files in, 8-bit cv::Mat out. Inside core, images are tensors in [-1, 1].
// Mats handed to the GUI are CV_8UC1 (grey) or CV_8UC3 in RGB order (not OpenCV's BGR).

#include "core/data/dataset.h"

#include <opencv2/core.hpp>

namespace le {

// C×H×W (or 1×C×H×W) tensor in [-1, 1] -> 8-bit Mat, grey or RGB.
cv::Mat tensorToMat(const torch::Tensor& image);
// 8-bit grey or RGB Mat -> 1×C×H×W float tensor in [-1, 1].
torch::Tensor matToTensor(const cv::Mat& image);
// N images tiled into a grid with `columns` columns and a 1-pixel gap.
cv::Mat tileImages(const torch::Tensor& images, int columns, int gap = 1);
// Writes an 8-bit grey or RGB Mat; throws DataError naming the file on failure.
void writeImage(const QString& path, const cv::Mat& image);

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
