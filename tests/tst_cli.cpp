#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "core/data/image_import.h"
#include "core/imaging/image_io.h"
#include "core/jobs/interpolation_job.h"
#include "core/latent/sampling.h"
#include "core/storage/checkpoint.h"
#include "test_support.h"

#include <QSignalSpy>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

// Drives the real latent-explorer-cli executable: exit codes, files and JSON.
class TestCli : public QObject {
    Q_OBJECT

    using Run = le::test::ProcessRun;

    Run cli(const QStringList& args, int timeoutMs = 120000) {
        return le::test::runProcess(QStringLiteral(LE_CLI_PATH), args, timeoutMs);
    }

    QString path(const QString& name) const { return m_dir.filePath(name); }

    // Starts a training run too long to finish; returns once it is training, its first periodic
    // checkpoint (`out`) on disk.
    void startEndlessTraining(QProcess& process, const QString& out) {
        process.start(
            QStringLiteral(LE_CLI_PATH),
            {"train", "--model", "vae", "--dataset", "fashion-mnist", "--steps", "1000000",
             "--batch", "8", "--latent", "4", "--checkpoint-every", "20", "--out", out, "--json"});
        QVERIFY(process.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(out), 60000);
    }

private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        // One short real training run that the other tests reuse.
        const Run r = cli({"train", "--model", "vae", "--dataset", "fashion-mnist", "--steps", "30",
                           "--batch", "32", "--latent", "4", "--out", path("vae.lec"), "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        const QJsonObject json = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(json["status"].toString(), QString("finished"));
        QCOMPARE(json["steps"].toInt(), 30);
        QVERIFY(json["test"].toObject().contains("loss"));
        cv::Mat image(20, 30, CV_8UC3, cv::Scalar(40, 120, 200));
        QVERIFY(cv::imwrite(path("a.png").toStdString(), image));
        cv::Mat other(28, 28, CV_8UC1, cv::Scalar(250));
        QVERIFY(cv::imwrite(path("b.jpg").toStdString(), other));
        QFile junk(path("junk.png"));
        QVERIFY(junk.open(QIODevice::WriteOnly));
        junk.write("this is not an image");
        QVERIFY(QDir(m_dir.path()).mkpath("pictures"));  // images without labels or factors
        QVERIFY(cv::imwrite(path("pictures/a.png").toStdString(), image));
        QVERIFY(cv::imwrite(path("pictures/b.png").toStdString(), other));

        const Run gan = cli({"train", "--model", "dcgan", "--dataset", "fashion-mnist", "--steps",
                             "3", "--batch", "16", "--latent", "8", "--hidden", "8", "--out",
                             path("dcgan.lec"), "--json"});
        QVERIFY2(gan.code == 0, gan.err.constData());
        const Run clf = cli({"train-classifier", "--dataset", "fashion-mnist", "--steps", "40",
                             "--out", path("classifier.lec"), "--seed", "3", "--json"});
        QVERIFY2(clf.code == 0, clf.err.constData());
        m_classifierRun = QJsonDocument::fromJson(clf.out).object();
    }

    void exitCodes_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("message");
        const QString ckpt = path("vae.lec");
        QTest::newRow("no command") << QStringList{} << 2 << "Usage";
        QTest::newRow("unknown command") << QStringList{"fly"} << 2 << "unknown command";
        QTest::newRow("unknown option")
            << QStringList{"info", "--checkpoint", ckpt, "--colour"} << 2 << "colour";
        QTest::newRow("train without --out")
            << QStringList{"train", "--model", "vae", "--dataset", "faces", "--steps", "1"} << 2
            << "--out";
        QTest::newRow("train with steps and epochs")
            << QStringList{"train", "--model",  "vae", "--dataset", "faces",      "--steps",
                           "1",     "--epochs", "1",   "--out",     path("x.lec")}
            << 2 << "exactly one";
        QTest::newRow("negative steps")
            << QStringList{"train",   "--model", "vae",   "--dataset",  "faces",
                           "--steps", "-3",      "--out", path("x.lec")}
            << 2 << "--steps";
        QTest::newRow("unknown family")
            << QStringList{"train",   "--model", "wavenet", "--dataset",  "fashion-mnist",
                           "--steps", "1",       "--out",   path("x.lec")}
            << 3 << "unknown model family";
        QTest::newRow("dataset folder missing")
            << QStringList{"train",   "--model", "vae",   "--dataset",  path("nowhere"),
                           "--steps", "1",       "--out", path("x.lec")}
            << 3 << "nowhere";
        QTest::newRow("missing checkpoint")
            << QStringList{"eval", "--checkpoint", path("none.lec")} << 3 << "none.lec";
        QTest::newRow("an image as checkpoint")
            << QStringList{"info", "--checkpoint", path("a.png")} << 3
            << "not a Latent Explorer checkpoint";
        QTest::newRow("unreadable image")
            << QStringList{"encode", "--checkpoint", ckpt, "--image", path("junk.png")} << 3
            << "junk.png";
        QTest::newRow("zero temperature")
            << QStringList{"sample",      "--checkpoint",  ckpt, "--count", "4", "--out",
                           path("s.png"), "--temperature", "0"}
            << 3 << "temperature";
        QTest::newRow("negative temperature")
            << QStringList{"sample", "--checkpoint", ckpt,          "--count",
                           "4",      "--out",        path("s.png"), "--temperature=-0.5"}
            << 3 << "temperature";
        QTest::newRow("a vae where a GAN is expected")
            << QStringList{"train-encoder", "--checkpoint", ckpt, "--steps", "1"} << 3
            << "vae.lec: a vae checkpoint has no encoder to train";
        QTest::newRow("a classifier where a model is expected")
            << QStringList{"eval", "--checkpoint", path("classifier.lec")} << 3
            << "classifier.lec: is a classifier checkpoint, not a generative model";
        QTest::newRow("a model where a classifier is expected")
            << QStringList{"eval", "--checkpoint", ckpt, "--samples", "20", "--classifier", ckpt}
            << 3 << "vae.lec: is a vae checkpoint, not a classifier one";
        QTest::newRow("dataset of the wrong shape for the model")
            << QStringList{"eval", "--checkpoint", ckpt, "--dataset", "faces", "--images", "10"}
            << 3 << "dataset faces has 3x32x32 images, but this vae model takes 1x28x28";
        QTest::newRow("invert an unreadable image")
            << QStringList{"invert",         "--checkpoint", ckpt,           "--image",
                           path("junk.png"), "--out",        path("inv.png")}
            << 3 << "junk.png";
        QTest::newRow("invert a missing image")
            << QStringList{"invert",         "--checkpoint", ckpt,           "--image",
                           path("gone.png"), "--out",        path("inv.png")}
            << 3 << "gone.png";
        QTest::newRow("classifier for a dataset without classes")
            << QStringList{"train-classifier", "--dataset", path("pictures"),
                           "--steps",          "1",         "--out",
                           path("c.lec")}
            << 3 << "neither class labels nor face factors";
        QTest::newRow("train-classifier without --steps")
            << QStringList{"train-classifier", "--dataset", "faces", "--out", path("c.lec")} << 2
            << "--steps";
        QTest::newRow("latent of wrong length")
            << QStringList{"decode", "--checkpoint", ckpt,         "--latent",
                           "1,2",    "--out",        path("d.png")}
            << 3 << "needs 4";
        QTest::newRow("cuda without cuda")
            << QStringList{"info", "--checkpoint", ckpt, "--device", "cuda:7"} << 3 << "cuda";
    }

    void exitCodes() {
        QFETCH(QStringList, args);
        QFETCH(int, code);
        QFETCH(QString, message);
        const Run r = cli(args);
        QVERIFY2(r.code == code,
                 qPrintable(QString("exit %1, stderr: %2").arg(r.code).arg(QString(r.err))));
        QVERIFY2(QString(r.err + r.out).contains(message), r.err.constData());
    }

    void evalReportsMetricsAsJson() {
        const Run r = cli({"eval", "--checkpoint", path("vae.lec"), "--images", "200", "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        const QJsonObject metrics = QJsonDocument::fromJson(r.out).object()["metrics"].toObject();
        for (const char* key :
             {"loss", "recon_mse", "bpd", "sample_sharpness_rel", "data_sharpness"})
            QVERIFY2(metrics.contains(key), key);
        QVERIFY(metrics["bpd"].toDouble() > 0);
    }

    void trainClassifierReportsHeldOutAccuracy() {
        const QJsonObject test = m_classifierRun["test"].toObject();
        QVERIFY2(test["accuracy"].toDouble() > 0.3, "40 steps learn something");
        QVERIFY(test["accuracy"].toDouble() <= 1.0);
        QCOMPARE(m_classifierRun["classes"].toInt(), 10);
        QCOMPARE(m_classifierRun["test_images"].toInt(), 10000);
        const Run r = cli({"info", "--checkpoint", path("classifier.lec"), "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        const QJsonObject info = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(info["family"].toString(), QString("classifier"));
        QCOMPARE(info["metrics"].toObject()["accuracy"].toDouble(), test["accuracy"].toDouble());
    }

    void evalReportsClassifierFd() {
        const Run r = cli({"eval", "--checkpoint", path("vae.lec"), "--images", "200", "--samples",
                           "150", "--classifier", path("classifier.lec"), "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        const QJsonObject json = QJsonDocument::fromJson(r.out).object();
        const QJsonObject metrics = json["metrics"].toObject();
        for (const char* key : {"classifier_fd", "recon_mse", "recon_sharpness_rel",
                                "sample_sharpness_rel", "data_sharpness", "bpd"})
            QVERIFY2(metrics.contains(key), key);
        QVERIFY(metrics["classifier_fd"].toDouble() > 0);
        // Decoding the encoder's codes of real images comes closer to the data than decoding the
        // prior's: the split that says whether the decoder or the prior holds a model back.
        QVERIFY2(metrics.contains("recon_classifier_fd"), "recon_classifier_fd");
        const double reconFd = metrics["recon_classifier_fd"].toDouble();
        qInfo("classifier_fd %.2f, recon_classifier_fd %.2f, floor %.2f",
              metrics["classifier_fd"].toDouble(), reconFd,
              metrics["classifier_fd_floor"].toDouble());
        QVERIFY(reconFd > 0);
        QVERIFY(reconFd < metrics["classifier_fd"].toDouble());
        const QJsonObject classifier = json["classifier"].toObject();
        QCOMPARE(classifier["samples"].toInt(), 150);
        QVERIFY(classifier["note"].toString().contains("not FID"));
    }

    void evalOfAGanReportsWhatItCan() {
        const Run r = cli({"eval", "--checkpoint", path("dcgan.lec"), "--images", "100",
                           "--samples", "120", "--classifier", path("classifier.lec"), "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        const QJsonObject metrics = QJsonDocument::fromJson(r.out).object()["metrics"].toObject();
        QVERIFY(metrics.contains("classifier_fd"));
        QVERIFY(metrics.contains("sample_sharpness_rel"));
        QVERIFY2(!metrics.contains("recon_mse"), "no encoder yet, so no reconstructions");
    }

    void invertByEncoderAndByOptimisation() {
        Run r = cli({"invert", "--checkpoint", path("vae.lec"), "--image", path("a.png"), "--out",
                     path("inv_vae.png"), "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        QJsonObject json = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(json["method"].toString(), QString("encoder"));
        QCOMPARE(json["latent_dim"].toInt(), 4);
        QVERIFY(json["error"].toDouble() >= 0);
        QCOMPARE(cv::imread(path("inv_vae.png").toStdString()).cols, 2 * 28 + 3);

        r = cli({"invert", "--checkpoint", path("dcgan.lec"), "--image", path("b.jpg"), "--out",
                 path("inv_gan.png"), "--steps", "5", "--starts", "2", "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        json = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(json["method"].toString(), QString("optimisation"));
        QCOMPARE(json["steps"].toInt(), 5);  // the starts run side by side in one batch
        QCOMPARE(json["starts"].toInt(), 2);
        QCOMPARE(json["latent_dim"].toInt(), 8);
        QVERIFY(QFileInfo::exists(path("inv_gan.png")));
    }

    void trainEncoderThenInvertStartsFromIt() {
        Run r = cli({"train-encoder", "--checkpoint", path("dcgan.lec"), "--steps", "4", "--batch",
                     "8", "--out", path("dcgan_enc.lec"), "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        QCOMPARE(QJsonDocument::fromJson(r.out).object()["encoder_steps"].toInt(), 4);
        r = cli({"info", "--checkpoint", path("dcgan_enc.lec"), "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        const QJsonObject extra = QJsonDocument::fromJson(r.out).object()["extra"].toObject();
        QCOMPARE(extra["encoder"].toObject()["steps"].toInt(), 4);
        r = cli({"invert", "--checkpoint", path("dcgan_enc.lec"), "--image", path("a.png"), "--out",
                 path("inv_enc.png"), "--steps", "3", "--starts", "1", "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        QVERIFY(
            QJsonDocument::fromJson(r.out).object()["method"].toString().contains("encoder start"));
    }

    // Every family trains, samples and evaluates from the CLI; families without an encoder or an
    // optimiser refuse invert with exit 3.
    void everyFamilyTrainsSamplesAndEvaluates_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QStringList>("config");
        QTest::addColumn<bool>("canInvert");
        QTest::newRow("glow") << "glow" << QStringList{"--set", "steps=1", "--set", "hidden=8"}
                              << true;
        QTest::newRow("pixelcnn") << "pixelcnn"
                                  << QStringList{"--set", "layers=2", "--set", "hidden=8"} << false;
        QTest::newRow("vqvae") << "vqvae"
                               << QStringList{"--set", "hidden=8",       "--set", "ae_steps=2",
                                              "--set", "prior_layers=2", "--set", "prior_hidden=8"}
                               << true;
    }
    void everyFamilyTrainsSamplesAndEvaluates() {
        QFETCH(QString, family);
        QFETCH(QStringList, config);
        QFETCH(bool, canInvert);
        const QString ckpt = path(family + ".lec");
        Run r = cli(QStringList{"train", "--model", family, "--dataset", "fashion-mnist", "--steps",
                                "4", "--batch", "8", "--out", ckpt, "--json"} +
                    config);
        QVERIFY2(r.code == 0, r.err.constData());
        r = cli({"sample", "--checkpoint", ckpt, "--count", "2", "--out", path(family + "_s.png"),
                 "--temperature", "0.8"});
        QVERIFY2(r.code == 0, r.err.constData());
        QCOMPARE(cv::imread(path(family + "_s.png").toStdString()).cols, 2 * 28 + 3);
        r = cli({"eval", "--checkpoint", ckpt, "--images", "50", "--samples", "4", "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        const QJsonObject metrics = QJsonDocument::fromJson(r.out).object()["metrics"].toObject();
        QVERIFY2(metrics["bpd"].toDouble() > 0.5, r.out.constData());
        QVERIFY(metrics.contains("sample_sharpness_rel"));
        r = cli({"invert", "--checkpoint", ckpt, "--image", path("a.png"), "--out",
                 path(family + "_inv.png")});
        QVERIFY2(r.code == (canInvert ? 0 : 3), r.err.constData());
        if (!canInvert) QVERIFY2(r.err.contains("cannot"), r.err.constData());
    }

    void trainInitFineTunesACheckpoint() {
        Run r = cli({"train", "--model", "vae", "--dataset", "fashion-mnist", "--steps", "2",
                     "--batch", "8", "--init", path("vae.lec"), "--lr", "1e-4", "--out",
                     path("vae_tuned.lec"), "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        r = cli({"info", "--checkpoint", path("vae_tuned.lec"), "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        // The config comes from the checkpoint (latent 4), the learning rate from the command.
        const QJsonObject config = QJsonDocument::fromJson(r.out).object()["config"].toObject();
        QCOMPARE(config["latent"].toString(), QString("4"));
        QCOMPARE(config["lr"].toString().toDouble(), 1e-4);
        // The run continues the checkpoint's: its steps count on from the checkpoint's.
        r = cli({"info", "--checkpoint", path("vae.lec"), "--json"});
        const qint64 before = QJsonDocument::fromJson(r.out).object()["steps"].toInteger();
        r = cli({"info", "--checkpoint", path("vae_tuned.lec"), "--json"});
        QCOMPARE(QJsonDocument::fromJson(r.out).object()["steps"].toInteger(), before + 2);
        r = cli({"train", "--model", "dcgan", "--dataset", "fashion-mnist", "--steps", "2",
                 "--init", path("vae.lec"), "--out", path("x.lec")});
        QCOMPARE(r.code, 3);
        QVERIFY2(r.err.contains("not a dcgan"), r.err.constData());
        r = cli({"train", "--model", "vae", "--dataset", "faces", "--steps", "2", "--init",
                 path("vae.lec"), "--out", path("x.lec")});
        QCOMPARE(r.code, 3);
        QVERIFY2(r.err.contains("1x28x28"), r.err.constData());
    }

    // --init-fresh starts one part anew at another size beside the trained rest, and --init-step
    // moves the schedule (here: back to the start of the VQ-VAE's prior phase).
    void trainInitFreshRetrainsOnePartAtAnotherSize() {
        const QStringList tiny =
            QString(
                "train --model vqvae --dataset fashion-mnist --batch 8 --set hidden=8 --set "
                "ae_steps=3 --set prior_layers=2 --set prior_hidden=8 --json")
                .split(' ');
        Run r = cli(tiny + QStringList{"--steps", "5", "--out", path("vq8.lec")});
        QVERIFY2(r.code == 0, r.err.constData());
        const QJsonObject before = QJsonDocument::fromJson(r.out).object()["test"].toObject();
        const QStringList wider{"--init",          path("vq8.lec"), "--set",
                                "prior_hidden=16", "--steps",       "2",
                                "--out",           path("vq16.lec")};

        // Without --init-fresh the wider prior cannot take the old weights: the error names the
        // file and the weight.
        r = cli(tiny + wider);
        QCOMPARE(r.code, 3);
        QVERIFY2(r.err.contains("vq8.lec") && r.err.contains("prior."), r.err.constData());
        r = cli(tiny + wider + QStringList{"--init-fresh", "nothing."});
        QCOMPARE(r.code, 3);
        QVERIFY2(r.err.contains("no weights named 'nothing.") && r.err.contains("vq8.lec"),
                 r.err.constData());
        r = cli(tiny + QStringList{"--steps", "1", "--init-step", "3", "--out", path("x.lec")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("need --init"), r.err.constData());

        r = cli(tiny + wider + QStringList{"--init-fresh", "prior.", "--init-step", "3"});
        QVERIFY2(r.code == 0, r.err.constData());
        const QJsonObject after = QJsonDocument::fromJson(r.out).object()["test"].toObject();
        // The autoencoder came over unchanged (both steps were prior steps) ...
        QCOMPARE(after["recon_mse"].toDouble(), before["recon_mse"].toDouble());
        // ... and the prior is the new, wider one, started afresh at the prior phase's first step.
        r = cli({"info", "--checkpoint", path("vq16.lec"), "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        const QJsonObject info = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(info["config"].toObject()["prior_hidden"].toString(), QString("16"));
        QCOMPARE(info["steps"].toInteger(), qint64(3 + 2));

        // An earlier step moves the phase back too: steps 1 and 2 train the autoencoder again.
        r = cli(tiny + wider + QStringList{"--init-fresh", "prior.", "--init-step", "1"});
        QVERIFY2(r.code == 0, r.err.constData());
        const QJsonObject again = QJsonDocument::fromJson(r.out).object()["test"].toObject();
        QVERIFY(again["recon_mse"].toDouble() != before["recon_mse"].toDouble());
    }

    // A long run stopped by SIGTERM (or Ctrl+C) ends like a cancelled one: evaluated, with a
    // complete checkpoint whose header holds the steps done and the held-out metrics.
    void terminatedTrainingKeepsACompleteCheckpoint() {
        QProcess process;
        startEndlessTraining(process, path("stopped.lec"));
        if (QTest::currentTestFailed()) return;
        process.terminate();
        QVERIFY(process.waitForFinished(120000));
        QCOMPARE(process.exitStatus(), QProcess::NormalExit);
        QCOMPARE(process.exitCode(), 0);
        const QJsonObject json = QJsonDocument::fromJson(process.readAllStandardOutput()).object();
        QCOMPARE(json["status"].toString(), QString("cancelled"));
        const qint64 steps = json["steps"].toInteger();
        QVERIFY(steps >= 1 && steps < 1000000);
        const Run info = cli({"info", "--checkpoint", path("stopped.lec"), "--json"});
        QVERIFY2(info.code == 0, info.err.constData());
        const QJsonObject header = QJsonDocument::fromJson(info.out).object();
        QCOMPARE(header["steps"].toInteger(), steps);
        QVERIFY(header["metrics"].toObject().contains("loss"));
    }

    // The first signal asks for a clean stop; the next one ends the run at once, even in its
    // final evaluation, and the last periodic checkpoint is still whole.
    void secondSignalStopsTrainingAtOnce() {
        QProcess process;
        startEndlessTraining(process, path("killed.lec"));
        if (QTest::currentTestFailed()) return;
        // Signals sent close together may arrive as one, so keep sending until it ends.
        process.terminate();
        for (int i = 0; i < 3000 && !process.waitForFinished(20); ++i) process.terminate();
        QCOMPARE(process.exitStatus(), QProcess::CrashExit);
        QVERIFY(process.readAllStandardError().contains("again to stop at once"));
        QVERIFY(process.readAllStandardOutput().isEmpty());  // no "cancelled" summary
        const Run info = cli({"info", "--checkpoint", path("killed.lec"), "--json"});
        QVERIFY2(info.code == 0, info.err.constData());
    }

    void sampleEncodeDecodeInterpolateWriteFiles() {
        Run r = cli(
            {"sample", "--checkpoint", path("vae.lec"), "--count", "9", "--out", path("s.png")});
        QVERIFY2(r.code == 0, r.err.constData());
        cv::Mat grid = cv::imread(path("s.png").toStdString(), cv::IMREAD_UNCHANGED);
        QCOMPARE(grid.cols, 3 * 28 + 4);  // three tiles, a 1-pixel gap around each

        r = cli({"encode", "--checkpoint", path("vae.lec"), "--image", path("a.png"), "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        QCOMPARE(QJsonDocument::fromJson(r.out).object()["latent"].toArray().size(), 4);

        r = cli({"decode", "--checkpoint", path("vae.lec"), "--latent", "0,0.5,-1,2", "--out",
                 path("d.png")});
        QVERIFY2(r.code == 0, r.err.constData());
        QCOMPARE(cv::imread(path("d.png").toStdString()).rows, 28);

        r = cli({"interpolate", "--checkpoint", path("vae.lec"), "--from", path("a.png"), "--to",
                 path("b.jpg"), "--frames", "5", "--out", path("i.png"), "--slerp"});
        QVERIFY2(r.code == 0, r.err.constData());
        QCOMPARE(cv::imread(path("i.png").toStdString()).cols, 5 * 28 + 6);
    }

    // The CLI and the views share core/latent: `sample` draws Compare's chunks and
    // `interpolate` the Interpolation view's frames (other processes may sum floats in another
    // order, so one 8-bit level is allowed).
    void cliAndViewsDrawTheSameImages() {
        Run r = cli({"sample", "--checkpoint", path("vae.lec"), "--count", "40", "--seed", "7",
                     "--temperature", "0.9", "--out", path("same_s.png")});
        QVERIFY2(r.code == 0, r.err.constData());
        le::LoadedCheckpoint vae = le::loadCheckpoint(path("vae.lec"));
        const cv::Mat expected = le::tileImages(le::sampleInChunks(*vae.model, 40, 0.9, 7), 7);
        const cv::Mat written = cv::imread(path("same_s.png").toStdString(), cv::IMREAD_UNCHANGED);
        QCOMPARE(written.cols, expected.cols);
        QCOMPARE(written.rows, expected.rows);
        QVERIFY(cv::norm(written, expected, cv::NORM_INF) <= 1.0);

        r = cli({"interpolate", "--checkpoint", path("vae.lec"), "--from", path("a.png"), "--to",
                 path("b.jpg"), "--frames", "4", "--out", path("same_i.png"), "--slerp", "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        QCOMPARE(QJsonDocument::fromJson(r.out).object()["method"].toString(), QString("encoder"));
        le::ImportOptions import;
        import.shape = vae.model->imageShape();
        le::InterpolationRequest request;
        request.checkpoints = {path("vae.lec")};
        request.from =
            le::tensorToMat(le::prepareImage(le::readImageFile(path("a.png")), import)[0]);
        request.to = le::tensorToMat(le::prepareImage(le::readImageFile(path("b.jpg")), import)[0]);
        request.frames = 4;
        request.slerp = true;
        le::InterpolationJob job;
        QSignalSpy strips(&job, &le::InterpolationJob::strip);
        job.begin(request);
        QVERIFY(strips.wait(60000));
        const auto strip = strips.first().at(2).value<le::InterpolationStrip>();
        QVERIFY2(strip.error.isEmpty(), qPrintable(strip.error));
        QCOMPARE(int(strip.frames.size()), 4);
        const cv::Mat cliStrip = cv::imread(path("same_i.png").toStdString(), cv::IMREAD_UNCHANGED);
        for (int i = 0; i < 4; ++i) {  // tiles of 28 with a 1-pixel gap around each
            const cv::Mat tile = cliStrip(cv::Rect(1 + i * 29, 1, 28, 28));
            QVERIFY2(cv::norm(tile, strip.frames[size_t(i)], cv::NORM_INF) <= 1.0,
                     qPrintable(QString("frame %1").arg(i)));
        }

        // A GAN interpolates too, its endpoints reached by inversion.
        r = cli({"interpolate", "--checkpoint", path("dcgan.lec"), "--from", path("a.png"), "--to",
                 path("b.jpg"), "--frames", "3", "--steps", "4", "--starts", "1", "--out",
                 path("gan_i.png"), "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        const QJsonObject json = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(json["method"].toString(), QString("inversion"));
        QVERIFY(json["endpoint_mse"].toDouble() > 0);
    }

    void infoAndDatasetsAsJson() {
        Run r = cli({"info", "--checkpoint", path("vae.lec"), "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        const QJsonObject info = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(info["family"].toString(), QString("vae"));
        QCOMPARE(info["steps"].toInt(), 30);
        r = cli({"datasets", "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        QCOMPARE(QJsonDocument::fromJson(r.out).object()["datasets"].toArray().size(), 3);
    }

private:
    QTemporaryDir m_dir;
    QJsonObject m_classifierRun;
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
