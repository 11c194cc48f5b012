/**
 * Preloaded (`node --import`) into a measured child process: at exit it prints one line with its
 * own CPU time and peak resident memory (getrusage), which the benchmark reads from stderr.
 */
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(`\nRUSAGE ${JSON.stringify({ cpuUs: u.userCPUTime + u.systemCPUTime, maxRssKb: u.maxRSS })}\n`);
});
