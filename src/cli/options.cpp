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

int parse(const Args& args, po::options_description& opts, const std::string& positional_name,
          std::string* positional, po::variables_map& vm, std::ostream& out, std::ostream& err) {
  po::options_description all;
  all.add(opts);
  all.add_options()(positional_name.c_str(), po::value<std::string>(), "");
  po::positional_options_description pos;
  pos.add(positional_name.c_str(), 1);
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    err << "ndsipctl: " << e.what() << " (see --help)\n";
    return exit_usage;
  }
  if (vm.count("help")) {
    out << opts << "\n";
    return exit_ok;
  }
  if (!vm.count(positional_name)) {
    err << "ndsipctl: missing " << positional_name << " file (see --help)\n";
    return exit_usage;
  }
  *positional = vm[positional_name].as<std::string>();
  return -1;
}

int parse_flags(const Args& args, po::options_description& opts, po::variables_map& vm, std::ostream& out,
                std::ostream& err) {
  try {
    po::store(po::command_line_parser(args).options(opts).run(), vm);
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

}  // namespace ndsip::cli
