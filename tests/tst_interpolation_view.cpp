// The Interpolation tab with tiny untrained models written here: two endpoints give one strip per
// model that can reach latents (VAE by its encoder, Glow exactly, VQ-VAE in its embedding space,
// a GAN without an encoder by inversion; the PixelCNN has no latent and is left out); the strips
// play as an animation and export as a PNG strip and an MP4 video. The latent paths are checked
// on their own: lerp is a straight line, slerp keeps the norm between the endpoints'.

#include "core/errors.h"
#include "core/imaging/compose.h"
#include "core/imaging/image_io.h"
#include "core/jobs/interpolation_job.h"
#include "core/latent/interpolation.h"
#include "core/latent/sampling.h"
#include "core/storage/checkpoint.h"
#include "core/storage/model_catalog.h"
#include "tiny_checkpoints.h"
#include "ui/views/interpolation_view.h"
#include "ui/widgets/image_view.h"

#include <QComboBox>
#include <QFileInfo>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

using le::InterpolationView;

namespace {

constexpr int kSize = 28;
constexpr int kFrames = 6;

cv::Mat square(int value, int side) {
    cv::Mat image(40, 40, CV_8UC3, cv::Scalar(20, 40, 60));
    cv::rectangle(image, cv::Rect(20 - side / 2, 20 - side / 2, side, side),
                  cv::Scalar(value, value, value), cv::FILLED);
    return image;
}

}  // namespace

class TestInterpolationView : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void lerpAndSlerpPaths_data();
    void lerpAndSlerpPaths();
    void everyCapableModelGivesAStripThatPlays();
    void stripsExportAsPngAndVideo();
    void videoToAnUnwritablePlaceNamesTheFile();

private:
    void runToEnd(InterpolationView& view);

    QTemporaryDir m_tmp;
    QVector<le::CatalogEntry> m_catalog;
};

void TestInterpolationView::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_tmp.isValid());
    // "tiny-set" is no dataset: the endpoints come from the test.
    le::test::writeTinyCheckpoints(m_tmp.path(),
                                   {{"a_vae.lec", "vae"},
                                    {"b_glow.lec", "glow"},
                                    {"c_dcgan.lec", "dcgan"},
                                    {"d_vqvae.lec", "vqvae"},
                                    {"e_pixelcnn.lec", "pixelcnn"}},
                                   {1, kSize, kSize}, QStringLiteral("tiny-set"));
    m_catalog = le::scanCheckpoints({m_tmp.path()});
    QCOMPARE(int(m_catalog.size()), 5);
}

void TestInterpolationView::lerpAndSlerpPaths_data() {
    QTest::addColumn<bool>("slerp");
    QTest::newRow("lerp is a straight line") << false;
    QTest::newRow("slerp keeps the norm between the endpoints'") << true;
}

void TestInterpolationView::lerpAndSlerpPaths() {
    QFETCH(bool, slerp);
    const torch::Tensor a = torch::tensor({3.0f, 0.0f, 0.0f});
    const torch::Tensor b = torch::tensor({0.0f, 3.0f, 0.0f});
    const torch::Tensor path = le::interpolateLatents(a, b, 5, slerp);
    QCOMPARE(path.size(0), int64_t{5});
    QVERIFY(torch::allclose(path[0], a, 1e-5, 1e-5));
    QVERIFY(torch::allclose(path[4], b, 1e-5, 1e-5));
    const double middleNorm = path[2].norm().item<double>();
    if (slerp)
        QVERIFY(std::abs(middleNorm - 3.0) < 1e-4);
    else
        QVERIFY(std::abs(middleNorm - 3.0 / std::sqrt(2.0)) < 1e-4);
    QVERIFY_THROWS_EXCEPTION(le::DataError, le::interpolateLatents(a, b, 1, slerp));
}

void TestInterpolationView::runToEnd(InterpolationView& view) {
    QSignalSpy finished(&view, &InterpolationView::interpolationFinished);
    view.setEndpoint(0, square(240, 8));
    view.setEndpoint(1, square(120, 24));  // the second starts the run
    QVERIFY(view.isRunning());
    QVERIFY(view.cancelButton()->isEnabled());
    QVERIFY(finished.wait(120000));
    QCOMPARE(finished.last().first().toBool(), false);
}

void TestInterpolationView::everyCapableModelGivesAStripThatPlays() {
    InterpolationView view;
    view.resize(1100, 700);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setCheckpoints(m_catalog);
    view.framesSpin()->setValue(kFrames);
    QCOMPARE(int(view.interpolatingModels().size()), 4);  // not the PixelCNN
    runToEnd(view);
    QVERIFY(!view.cancelButton()->isEnabled());

    const QStringList methods = {"encoder", "exact flow", "inversion", "embedding space"};
    for (int row = 0; row < 4; ++row) {
        const le::InterpolationStrip& strip = view.strips()[row];
        QVERIFY2(strip.error.isEmpty(), qPrintable(strip.error));
        QCOMPARE(strip.method, methods[row]);
        QCOMPARE(int(strip.frames.size()), kFrames);
        QCOMPARE(strip.frames[0].rows, kSize);
        QVERIFY(!view.stripLabel(row)->pixmap().isNull());
        QCOMPARE(view.playerView(row)->image().size(), QSize(kSize, kSize));
    }
    // Glow is exact: its first and last frames are the endpoints as the model saw them.
    QVERIFY(view.strips()[1].endpointMse < 1e-3);

    QVERIFY(!view.isPlaying());
    QTest::mouseClick(view.playButton(), Qt::LeftButton);
    QVERIFY(view.isPlaying());
    const int start = view.currentFrame();
    QTRY_VERIFY_WITH_TIMEOUT(view.currentFrame() != start, 5000);
    const QImage shown = view.playerView(0)->image();
    QTRY_VERIFY_WITH_TIMEOUT(view.playerView(0)->image() != shown, 5000);
    QTest::keyClick(&view, Qt::Key_Space);
    QVERIFY(!view.isPlaying());
}

void TestInterpolationView::stripsExportAsPngAndVideo() {
    InterpolationView view;
    view.show();
    view.setCheckpoints(m_catalog);
    view.framesSpin()->setValue(kFrames);
    QVERIFY(!view.exportPng(m_tmp.filePath("early.png")));  // nothing yet: says so
    QVERIFY(view.errorText().contains(QStringLiteral("early.png")));
    runToEnd(view);

    const QString png = m_tmp.filePath("strips.png");
    QVERIFY2(view.exportPng(png), qPrintable(view.errorText()));
    const cv::Mat strips = cv::imread(png.toStdString());
    QVERIFY(!strips.empty());
    QVERIFY(strips.cols > strips.rows);  // frames side by side, a row per model
    QVERIFY(strips.cols >= kFrames * 96);
    QVERIFY(strips.rows >= 4 * 96);

    const QString mp4 = m_tmp.filePath("strips.mp4");
    QVERIFY2(view.exportVideo(mp4), qPrintable(view.errorText()));
    QVERIFY(QFileInfo(mp4).size() > 0);
    cv::VideoCapture capture(mp4.toStdString());
    QVERIFY(capture.isOpened());
    cv::Mat frame;
    QVERIFY(capture.read(frame));
    QVERIFY(frame.rows > frame.cols);                                       // the models stacked
    QCOMPARE(int(capture.get(cv::CAP_PROP_FRAME_COUNT)), 2 * kFrames - 2);  // forth and back
}

void TestInterpolationView::videoToAnUnwritablePlaceNamesTheFile() {
    const std::vector<std::vector<cv::Mat>> strips = {{square(10, 4), square(200, 20)}};
    const QString path = m_tmp.filePath("no-such-folder/clip.mp4");
    try {
        le::writeInterpolationVideo(path, strips, 8, 64);
        QFAIL("writing into a missing folder succeeded");
    } catch (const le::DataError& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("clip.mp4")), e.what());
    }
}

QTEST_MAIN(TestInterpolationView)
#include "tst_interpolation_view.moc"
