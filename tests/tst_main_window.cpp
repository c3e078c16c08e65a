// MainWindow end to end: a tiny VAE checkpoint written here, loaded by the real worker thread,
// the first image shown, a drag that changes it, and errors kept in the status bar.

#include "core/storage/checkpoint.h"
#include "ui/widgets/image_view.h"
#include "ui/views/latent_map_view.h"
#include "ui/main_window.h"

#include <QDir>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <qcustomplot.h>

using le::LatentMapView;
using le::MainWindow;

class TestMainWindow : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();

    void startsWithoutAModel();
    void loadsCheckpointAndShowsFirstImage();
    void dragChangesTheDecodedImage();
    void missingCheckpointShowsErrorInStatusBar();
    void geometryIsRestored();

private:
    QString m_checkpoint;
    QTemporaryDir m_tmp;
};

void TestMainWindow::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);  // QSettings away from the user's own
    QVERIFY(m_tmp.isValid());
    if (!QDir(QStringLiteral("/usr/share/datasets/fashion-mnist")).exists())
        QSKIP("Fashion-MNIST (the fashion-mnist Debian package) is not installed");

    le::ModelConfig config;
    config.set("channels", int64_t{1});
    config.set("height", int64_t{28});
    config.set("width", int64_t{28});
    config.set("arch", std::string("mlp"));
    config.set("hidden", int64_t{32});
    config.set("latent", int64_t{4});
    torch::manual_seed(7);
    auto model = le::ModelRegistry::instance().create("vae", config);
    le::CheckpointHeader header;
    header.dataset = QStringLiteral("fashion-mnist");
    header.steps = 0;
    m_checkpoint = m_tmp.filePath(QStringLiteral("tiny_vae.lec"));
    le::saveCheckpoint(m_checkpoint, *model, header);
    QVERIFY(QFileInfo::exists(m_checkpoint));
}

void TestMainWindow::startsWithoutAModel() {
    MainWindow window(QStringLiteral("cpu"));
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QCOMPARE(window.windowTitle(), QStringLiteral("Latent Explorer"));
    QVERIFY(!window.hasModel());
    QCOMPARE(window.tabs()->tabText(0), QStringLiteral("Latent map"));
    QCOMPARE(window.tabs()->tabText(1), QStringLiteral("Inversion"));
    QCOMPARE(window.tabs()->tabText(2), QStringLiteral("Interpolation"));
    QCOMPARE(window.tabs()->tabText(3), QStringLiteral("Autoregressive"));
    QCOMPARE(window.tabs()->tabText(4), QStringLiteral("Compare"));
    QCOMPARE(window.tabs()->tabText(5), QStringLiteral("Temperature"));
    QCOMPARE(window.tabs()->tabText(6), QStringLiteral("Training"));
    for (const char* name : {"map", "inversion", "interpolation", "autoregressive", "compare",
                             "temperature", "training"})
        QVERIFY2(window.showView(QString::fromLatin1(name)), name);
    QVERIFY(window.minimumWidth() >= 1000);
    QVERIFY(window.latentMapView()->currentImage().isNull());
}

void TestMainWindow::loadsCheckpointAndShowsFirstImage() {
    MainWindow window(QStringLiteral("cpu"));
    window.show();
    QSignalSpy ready(&window, &MainWindow::firstImageShown);
    QSignalSpy errors(&window, &MainWindow::errorShown);
    window.openCheckpoint(m_checkpoint);
    QVERIFY2(ready.wait(120000), qPrintable(window.statusText()));
    QCOMPARE(errors.count(), 0);

    QVERIFY(window.hasModel());
    QCOMPARE(window.modelInfo().family, QStringLiteral("vae"));
    const QImage image = window.latentMapView()->currentImage();
    QCOMPARE(image.size(), QSize(28, 28));
    QVERIFY(window.windowTitle().contains(QStringLiteral("tiny_vae.lec")));

    const QString status = window.statusText();
    QVERIFY2(status.contains(QStringLiteral("VAE")), qPrintable(status));
    QVERIFY2(status.contains(QStringLiteral("fashion-mnist")), qPrintable(status));
    static const QRegularExpression decodeTime(QStringLiteral("decode \\d+\\.\\d ms on cpu"));
    QVERIFY2(decodeTime.match(status).hasMatch(), qPrintable(status));

    // The map holds the encoded test set with its class names in the legend.
    QCustomPlot* plot = window.latentMapView()->plot();
    QCOMPARE(plot->legend->itemCount(), 10);
    QVERIFY(window.latentMapView()->sliderCount() == 4);
}

void TestMainWindow::dragChangesTheDecodedImage() {
    MainWindow window(QStringLiteral("cpu"));
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QSignalSpy ready(&window, &MainWindow::firstImageShown);
    window.openCheckpoint(m_checkpoint);
    QVERIFY2(ready.wait(120000), qPrintable(window.statusText()));

    LatentMapView* view = window.latentMapView();
    const QImage before = view->currentImage();
    QCustomPlot* plot = view->plot();
    plot->replot();
    const QRect area = plot->axisRect()->rect();
    const QPoint start = area.center();
    const QPoint end = area.topLeft() + QPoint(area.width() / 10, area.height() / 10);

    QTest::mousePress(plot, Qt::LeftButton, {}, start);
    for (int step = 1; step <= 5; ++step) {
        const QPoint pos = start + (end - start) * step / 5;
        QMouseEvent move(QEvent::MouseMove, pos, plot->mapToGlobal(pos), Qt::NoButton,
                         Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(plot, &move);
    }
    QTest::mouseRelease(plot, Qt::LeftButton, {}, end);

    const QPointF expected(plot->xAxis->pixelToCoord(end.x()), plot->yAxis->pixelToCoord(end.y()));
    // The cursor keeps float coordinates, like the latents it makes.
    QVERIFY(qAbs(view->cursorPosition().x() - expected.x()) < 1e-4 * plot->xAxis->range().size());
    QVERIFY(qAbs(view->cursorPosition().y() - expected.y()) < 1e-4 * plot->yAxis->range().size());
    // Intermediate drags may be coalesced away; the newest request is always answered.
    QTRY_COMPARE_WITH_TIMEOUT(view->shownResultId(), view->lastRequestId(), 30000);
    QVERIFY(view->errorText().isEmpty());
    QVERIFY(view->currentImage() != before);
    QVERIFY(window.statusText().contains(QStringLiteral(" ms on cpu")));
}

void TestMainWindow::missingCheckpointShowsErrorInStatusBar() {
    MainWindow window(QStringLiteral("cpu"));
    window.show();
    QSignalSpy errors(&window, &MainWindow::errorShown);
    const QString missing = m_tmp.filePath(QStringLiteral("no_such_model.lec"));
    window.openCheckpoint(missing);
    QVERIFY(errors.wait(30000));
    QVERIFY2(window.statusText().contains(QStringLiteral("no_such_model.lec")),
             qPrintable(window.statusText()));
    QVERIFY(!window.hasModel());
    QVERIFY(!window.latentMapView()->errorText().isEmpty());
    QVERIFY(QApplication::activeModalWidget() == nullptr);
}

void TestMainWindow::geometryIsRestored() {
    {
        MainWindow window(QStringLiteral("cpu"));
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        window.resize(1111, 705);
        QTRY_COMPARE(window.size(), QSize(1111, 705));
        window.close();
    }
    MainWindow again(QStringLiteral("cpu"));
    QCOMPARE(again.size(), QSize(1111, 705));
}

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
