#pragma once

#include <stdexcept>
#include <string>

namespace le {

// A problem with a user's file or data: the message names the file and what is wrong.
// The CLI maps it to exit code 3; the GUI shows it in place.
class DataError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace le
