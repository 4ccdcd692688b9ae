#include "cli/options.hpp"

#include <iostream>

#include "cli/inputs.hpp"

namespace ndsip::cli {

namespace po = boost::program_options;

void add_data_dir_options(po::options_description& opts) {
  const std::string data = default_data_dir();
  opts.add_options()("policies", po::value<std::string>()->default_value(data + "/policies"),
                     "directory of TS 33.210 profiles (*.json)")(
      "templates", po::value<std::string>()->default_value(data + "/templates"),
      "directory of reference-point templates (*.json)")("help,h", "show this help");
}

namespace {

// Runs the parser into vm: a usage error or --help (opts printed) ends the command here.
int store(po::command_line_parser& parser, const po::options_description& opts, po::variables_map& vm,
          std::ostream& out, std::ostream& err) {
  try {
    po::store(parser.run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    err << "ndsipctl: " << e.what() << " (see --help)\n";
    return exit_usage;
  }
  if (vm.count("help")) {
    out << opts << "\n";
    return exit_ok;
  }
  return -1;
}

}  // namespace

int parse(const Args& args, po::options_description& opts, const std::string& positional_name,
          std::string* positional, po::variables_map& vm, std::ostream& out, std::ostream& err) {
  po::options_description all;
  all.add(opts);
  all.add_options()(positional_name.c_str(), po::value<std::string>(), "");
  po::positional_options_description pos;
  pos.add(positional_name.c_str(), 1);
  po::command_line_parser parser(args);
  parser.options(all).positional(pos);
  if (int rc = store(parser, opts, vm, out, err); rc >= 0) return rc;
  if (!vm.count(positional_name)) {
    err << "ndsipctl: missing " << positional_name << " file (see --help)\n";
    return exit_usage;
  }
  *positional = vm[positional_name].as<std::string>();
  return -1;
}

int parse_flags(const Args& args, po::options_description& opts, po::variables_map& vm, std::ostream& out,
                std::ostream& err) {
  po::command_line_parser parser(args);
  parser.options(opts);
  return store(parser, opts, vm, out, err);
}

}  // namespace ndsip::cli
