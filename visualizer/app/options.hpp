// flashlab-viz's command line (CLI11): the problem to show, the step, and the headless modes.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include <flashlab/viz/config.hpp>

namespace flashlab::viz::app {

struct AppOptions {
  VizConfig config;
  int64_t step = -1;       // -1: the first step (interactive) / the middle (screenshot); with
                           // compare: the aligned loop step; with softmax_run: merges applied
  int row = -1;            // the online-softmax panel's query row (softmax_run: the row shown)
  std::string screenshot;  // render one frame to this PNG and exit
  int width = 1600, height = 1000;
  std::string trace;          // replay a trace saved by `flashlab trace`
  std::string compare;        // with trace: show this trace beside it, aligned by loop step
  std::string softmax_run;    // lab 1's run written by `flashlab-grade 1 --trace`
  int benchmark_frames = 0;   // > 0: play for this many frames, print the frame times, exit
  int benchmark_load = 0;     // > 0: load --trace this many times, print the load times, exit
  bool play = false;          // start playing
  bool report_state = false;  // print the replay state on stdout whenever it changes
};

// The options, or the exit code when the program should stop: 0 after --help, 2 (with one line
// on stderr) for a bad option.
std::variant<AppOptions, int> parse_options(int argc, char** argv);

}  // namespace flashlab::viz::app
