#pragma once

#include <QDir>
#include <QString>

#include <stdexcept>
#include <string>

namespace le {

// A problem with a user's file or data: the message names the file and what is wrong.
// The CLI maps it to exit code 3; the GUI shows it in place.
class DataError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Throws DataError "path: what", the path in the platform's separators.
[[noreturn]] inline void fileError(const QString& path, const QString& what) {
    throw DataError(
        QStringLiteral("%1: %2").arg(QDir::toNativeSeparators(path), what).toStdString());
}

}  // namespace le
