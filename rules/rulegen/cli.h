// Command line of triage_rulegen: which command, which flags, and the checks
// on their values that need no file. main.cpp runs the command.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace triage::rulegen {

extern const char* const kUsage;

struct CommandLine {
  std::string command;                      // check | generate | scale | help
  std::map<std::string, std::string> flags;  // "--catalog" -> value, ...
  int64_t factor = 1;                       // scale's --factor
  // --runbook-base-url when given (generate and scale); otherwise the
  // catalog's runbook_base_url applies.
  std::optional<std::string> runbook_base_url;
};

// Parses argv[1..] (the program name left out). Returns the message of a
// usage error (exit status 2), or nullopt when `out` is filled in.
std::optional<std::string> ParseCommandLine(const std::vector<std::string>& args, CommandLine& out);

}  // namespace triage::rulegen
