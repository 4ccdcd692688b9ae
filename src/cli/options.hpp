// Command-line parsing shared by the subcommands (Boost.Program_options).
#pragma once

#include <boost/program_options.hpp>
#include <iosfwd>
#include <string>

#include "cli/commands.hpp"

namespace ndsip::cli {

// --policies DIR and --templates DIR, defaulting to the data directory.
void add_data_dir_options(boost::program_options::options_description& opts);

// Parses args with one required positional argument (stored in *positional) plus --help.
// Returns -1 to go on, or the exit code to return now (help printed, or a usage error).
int parse(const Args& args, boost::program_options::options_description& opts,
          const std::string& positional_name, std::string* positional,
          boost::program_options::variables_map& vm, std::ostream& out, std::ostream& err);

// The same for a command without a positional argument (opts must include --help).
int parse_flags(const Args& args, boost::program_options::options_description& opts,
                boost::program_options::variables_map& vm, std::ostream& out, std::ostream& err);

}  // namespace ndsip::cli
