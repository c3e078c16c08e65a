// latent-explorer: the GUI. Options mirror the CLI's where they overlap (--device, --data-dir);
// --screenshot renders the window once the first image is shown, for docs and smoke tests.

#include "core/threads.h"
#include "ui/main_window.h"
#include "ui/views/autoregressive_view.h"
#include "ui/views/compare_view.h"
#include "ui/views/interpolation_view.h"
#include "ui/views/inversion_view.h"
#include "ui/views/latent_map_view.h"
#include "ui/views/temperature_view.h"
#include "ui/widgets/code_grid_editor.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QIcon>
#include <QPixmap>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTimer>

#include <cstdio>
#include <memory>

namespace {

const char* const kDefaultCheckpoint = "vae_fashion-mnist.lec";

// The shipped models: installed beside the executable first, then the source tree it was built
// from.
QString findPretrainedDir() {
    const QStringList candidates = {
        QDir(QCoreApplication::applicationDirPath())
            .filePath(QStringLiteral("../share/latent-explorer/pretrained")),
#ifdef LE_SOURCE_DIR
        QDir(QStringLiteral(LE_SOURCE_DIR)).filePath(QStringLiteral("models/pretrained")),
#endif
    };
    for (const QString& dir : candidates)
        if (QFileInfo(QDir(dir).filePath(kDefaultCheckpoint)).isFile())
            return QDir::cleanPath(QFileInfo(dir).absoluteFilePath());
    return {};
}

bool isDeviceName(const QString& device) {
    static const QRegularExpression pattern(QStringLiteral("^(auto|cpu|cuda(:\\d+)?)$"));
    return pattern.match(device).hasMatch();
}

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("latent-explorer"));
    QApplication::setApplicationName(QStringLiteral("latent-explorer"));
#ifdef LE_VERSION
    QApplication::setApplicationVersion(QStringLiteral(LE_VERSION));
#endif
    // The desktop entry and the icon set of resources/ (the icons compiled in).
    QApplication::setDesktopFileName(QStringLiteral("latent-explorer"));
    QIcon icon;
    for (int size : {16, 32, 48, 64, 128, 256})
        icon.addFile(QStringLiteral(":/icons/latent-explorer-%1.png").arg(size), QSize(size, size));
    QApplication::setWindowIcon(icon);
    le::configureThreads();

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Latent Explorer: see how generative models think."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption checkpointOption(
        QStringLiteral("checkpoint"),
        QStringLiteral("Model checkpoint to open (default: the shipped %1).")
            .arg(kDefaultCheckpoint),
        QStringLiteral("FILE"));
    const QCommandLineOption deviceOption(QStringLiteral("device"),
                                          QStringLiteral("Where models run: auto, cpu or cuda."),
                                          QStringLiteral("auto|cpu|cuda"), QStringLiteral("auto"));
    const QCommandLineOption dataDirOption(
        QStringLiteral("data-dir"),
        QStringLiteral("Folder for your checkpoints and runs (default: the application data "
                       "folder)."),
        QStringLiteral("DIR"));
    const QCommandLineOption screenshotOption(
        QStringLiteral("screenshot"),
        QStringLiteral("Save the window as a PNG once the first image is shown, then exit."),
        QStringLiteral("FILE"));
    const QCommandLineOption viewOption(
        QStringLiteral("view"),
        QStringLiteral("The tab to show first (and to render with --screenshot): map, inversion, "
                       "interpolation, autoregressive, compare, temperature or training."),
        QStringLiteral("map|inversion|interpolation|autoregressive|compare|temperature|training"),
        QStringLiteral("map"));
    const QCommandLineOption workspaceOption(
        QStringLiteral("workspace"),
        QStringLiteral("A saved workspace (.lew) to reopen: its models, points, images and "
                       "branches."),
        QStringLiteral("FILE"));
    parser.addOptions({checkpointOption, deviceOption, dataDirOption, screenshotOption, viewOption,
                       workspaceOption});
    parser.process(app);

    const QString device = parser.value(deviceOption);
    if (!isDeviceName(device)) {
        std::fprintf(stderr,
                     "latent-explorer: --device must be auto, cpu, cuda or cuda:N, not %s\n",
                     qPrintable(device));
        return 2;
    }

    le::MainWindow window(device);
    const QString pretrainedDir = findPretrainedDir();
    QStringList modelDirs;
    if (!pretrainedDir.isEmpty()) modelDirs << pretrainedDir;
    // The user's folder: runs (and their checkpoints) and checkpoints/ for files of their own.
    const QString dataDir = parser.isSet(dataDirOption)
                                ? QDir(parser.value(dataDirOption)).absolutePath()
                                : QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    if (parser.isSet(dataDirOption))
        window.setCheckpointDirectory(QDir(dataDir).exists(QStringLiteral("checkpoints"))
                                          ? QDir(dataDir).filePath(QStringLiteral("checkpoints"))
                                          : dataDir);
    modelDirs << QDir(dataDir).filePath(QStringLiteral("checkpoints"));
    window.setModelDirectories(modelDirs);
    if (!dataDir.isEmpty()) window.setDataDirectory(dataDir);
    const QString view = parser.value(viewOption);
    // Without --view the window opens on the tab it showed last.
    if ((parser.isSet(viewOption) || parser.isSet(screenshotOption)) && !window.showView(view)) {
        std::fprintf(stderr,
                     "latent-explorer: --view must be map, inversion, interpolation, "
                     "autoregressive, compare, temperature or training, not %s\n",
                     qPrintable(view));
        return 2;
    }

    const QString screenshot = parser.value(screenshotOption);
    if (!screenshot.isEmpty()) {
        window.resize(1180, 720);  // the same picture whatever geometry was saved last
        auto grabbed = std::make_shared<bool>(false);
        auto grab = [&window, screenshot, grabbed] {
            if (*grabbed) return;
            *grabbed = true;
            const bool saved = window.grab().save(screenshot, "PNG");
            if (!saved)
                std::fprintf(stderr, "latent-explorer: cannot write %s\n", qPrintable(screenshot));
            QCoreApplication::exit(saved ? 0 : 1);
        };
        // Queued: the image or error reaches the screen before the window is grabbed.
        if (view == QLatin1String("inversion")) {
            // The rows, and the code editor's palette and usage histogram when it is open.
            le::CodeGridEditor* editor = window.inversionView()->codeEditor();
            auto grabWhenComplete = [&window, editor, grab] {
                const bool editorDone =
                    !editor->isVisibleTo(&window) ||
                    (editor->paletteReady() && !editor->usage().checkpoint.isEmpty());
                if (!window.inversionView()->isRunning() && editorDone) grab();
            };
            QObject::connect(window.inversionView(), &le::InversionView::inversionFinished, &window,
                             grabWhenComplete, Qt::QueuedConnection);
            QObject::connect(editor, &le::CodeGridEditor::paletteShown, &window, grabWhenComplete,
                             Qt::QueuedConnection);
            QObject::connect(editor, &le::CodeGridEditor::usageShown, &window, grabWhenComplete,
                             Qt::QueuedConnection);
        } else if (view == QLatin1String("autoregressive")) {
            le::AutoregressiveView* stepper = window.autoregressiveView();
            // Complete the lower half of a test image, three ways; then rewind to the middle of
            // the lower half, resample with another seed row by row partway, and grab: two
            // branches, the heat map with unfilled cells.
            stepper->setStartFrom(le::AutoregressiveView::TopHalf);
            stepper->restart();
            auto* script = new QTimer(&window);
            QObject::connect(script, &QTimer::timeout, stepper, [stepper, grab, script] {
                const le::AutoregressiveStep& s = stepper->lastStep();
                if (stepper->isPlaying() || s.totalSteps <= 0) return;
                if (stepper->branchCount() == 1) {
                    if (s.position < 0 && stepper->runButton()->isEnabled())
                        stepper->runButton()->click();
                    else if (s.done && stepper->resampleButton()->isEnabled()) {
                        stepper->seedSpin()->setValue(stepper->seedSpin()->value() + 10);
                        stepper->rewindTo(qint64(s.gridWidth) * s.gridHeight * 5 / 8);
                    }
                } else if (s.stepsDone < s.totalSteps * 13 / 16) {
                    if (stepper->stepRowButton()->isEnabled()) stepper->stepRowButton()->click();
                } else {
                    script->stop();
                    QTimer::singleShot(100, stepper, grab);
                }
            });
            script->start(50);
            QObject::connect(stepper, &le::AutoregressiveView::samplingFailed, &window, grab,
                             Qt::QueuedConnection);
        } else if (view == QLatin1String("interpolation")) {
            QObject::connect(window.interpolationView(),
                             &le::InterpolationView::interpolationFinished, &window, grab,
                             Qt::QueuedConnection);
        } else if (view == QLatin1String("compare")) {
            window.compareView()->compare();
            QObject::connect(window.compareView(), &le::CompareView::comparisonFinished, &window,
                             grab, Qt::QueuedConnection);
        } else if (view == QLatin1String("temperature")) {
            // Shown by --view, the tab samples its grid; grab once the last row is drawn.
            QObject::connect(window.temperatureView(), &le::TemperatureView::gridFinished, &window,
                             grab, Qt::QueuedConnection);
        } else if (view == QLatin1String("training")) {
            QTimer::singleShot(1500, &window, grab);  // the runs on disk, listed and drawn
        } else if (view == QLatin1String("map")) {
            // The decoded image, and beside it the likelihood meter with its test-set bands.
            QObject::connect(window.latentMapView(), &le::LatentMapView::meterReady, &window, grab,
                             Qt::QueuedConnection);
            QObject::connect(&window, &le::MainWindow::errorShown, &window, grab,
                             Qt::QueuedConnection);
        } else {
            QObject::connect(&window, &le::MainWindow::firstImageShown, &window, grab,
                             Qt::QueuedConnection);
            QObject::connect(&window, &le::MainWindow::errorShown, &window, grab,
                             Qt::QueuedConnection);
        }
        QTimer::singleShot(view == QLatin1String("map") ? 30000 : 300000, &window, grab);
    }

    window.show();

    // A workspace brings its own models and view; --view and --checkpoint still win.
    if (parser.isSet(workspaceOption)) {
        if (!window.openWorkspace(parser.value(workspaceOption))) {
            std::fprintf(stderr, "latent-explorer: %s\n", qPrintable(window.lastError()));
            return 3;
        }
        if (parser.isSet(viewOption) || parser.isSet(screenshotOption)) window.showView(view);
        if (window.hasOrAwaitsModel() && !parser.isSet(checkpointOption)) return app.exec();
    }

    QString checkpoint = parser.value(checkpointOption);
    if (checkpoint.isEmpty() && !pretrainedDir.isEmpty())
        checkpoint = QDir(pretrainedDir).filePath(kDefaultCheckpoint);
    if (!checkpoint.isEmpty()) {
        window.openCheckpoint(checkpoint);
    } else {
        window.showError(
            QStringLiteral("The shipped model %1 was not found: open a checkpoint with File \u203a "
                           "Open checkpoint\u2026")
                .arg(kDefaultCheckpoint));
    }
    return app.exec();
}
