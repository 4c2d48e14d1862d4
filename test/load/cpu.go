package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, which Linux fixes at 100 for /proc on every
// mainstream architecture (getconf CLK_TCK).
const clockTicks = 100

// procStat is the few fields of /proc/<pid>/stat the harness reads.
type procStat struct {
	comm       string
	ppid       int
	cpuTicks   uint64 // utime + stime
	readFailed bool
}

func readStat(pid int) procStat {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{readFailed: true}
	}
	return parseStat(string(raw))
}

func parseStat(s string) procStat {
	// comm is in parentheses and may itself hold spaces or parentheses.
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return procStat{readFailed: true}
	}
	fields := strings.Fields(s[closing+1:])
	// fields[0] is state (field 3); ppid is field 4, utime 14, stime 15.
	if len(fields) < 13 {
		return procStat{readFailed: true}
	}
	ppid, _ := strconv.Atoi(fields[1])
	utime, _ := strconv.ParseUint(fields[11], 10, 64)
	stime, _ := strconv.ParseUint(fields[12], 10, 64)
	return procStat{comm: s[open+1 : closing], ppid: ppid, cpuTicks: utime + stime}
}

// cpuMillis is the CPU time a process has used so far, or -1.
func cpuMillis(pid int) float64 {
	if pid <= 0 {
		return -1
	}
	st := readStat(pid)
	if st.readFailed {
		return -1
	}
	return float64(st.cpuTicks) * 1000 / clockTicks
}

// javaDescendant finds the DynamoDB Local JVM among the server's
// descendants (its child, or a grandchild if a shell sits between).
func javaDescendant(root int) int {
	if root <= 0 {
		return 0
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	parent := map[int]int{}
	comm := map[int]string{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		st := readStat(pid)
		if st.readFailed {
			continue
		}
		parent[pid], comm[pid] = st.ppid, st.comm
	}
	for pid, c := range comm {
		if c != "java" {
			continue
		}
		for p, hops := parent[pid], 0; p > 1 && hops < 8; p, hops = parent[p], hops+1 {
			if p == root {
				return pid
			}
		}
	}
	return 0
}
