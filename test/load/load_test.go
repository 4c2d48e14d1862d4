package main

import (
	"os"
	"testing"
)

func TestPlanSendsEachMessageOnceAndTenPercentTwiceWithinTheWindow(t *testing.T) {
	p, err := newPlan(1000, 50, 30, "sms")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.requests) != 1100 || p.contacts() != 50 {
		t.Fatalf("%d requests over %d numbers, want 1100 over 50", len(p.requests), p.contacts())
	}
	first := map[string]int{}
	copies := map[string]int{}
	for i, m := range p.requests {
		copies[m.sid]++
		if copies[m.sid] == 1 {
			first[m.sid] = i
			continue
		}
		// At most window distinct messages start between the copies, plus
		// the duplicates interleaved with them.
		if gap := i - first[m.sid]; gap > 30+30 {
			t.Errorf("%s repeated %d requests later, want within the window", m.sid, gap)
		}
	}
	twice := 0
	for _, n := range copies {
		if n > 2 {
			t.Fatalf("a message sent %d times", n)
		}
		if n == 2 {
			twice++
		}
	}
	if len(copies) != 1000 || twice != 100 {
		t.Fatalf("%d distinct, %d sent twice; want 1000 and 100", len(copies), twice)
	}
}

func TestParseStatHandlesParenthesesInTheCommandName(t *testing.T) {
	st := parseStat("4242 (odd) name) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 9 0 123 0 0")
	if st.readFailed || st.comm != "odd) name" || st.ppid != 17 || st.cpuTicks != 281 {
		t.Fatalf("parseStat = %+v, want comm \"odd) name\", ppid 17, 281 ticks", st)
	}
	if !parseStat("garbage").readFailed {
		t.Fatal("parseStat(garbage) did not fail")
	}
}

func TestReadStatReadsThisProcess(t *testing.T) {
	st := readStat(os.Getpid())
	if st.readFailed || st.ppid != os.Getppid() {
		t.Fatalf("readStat(self) = %+v, want ppid %d", st, os.Getppid())
	}
	if cpuMillis(os.Getpid()) < 0 || cpuMillis(-1) != -1 {
		t.Fatal("cpuMillis: want this process's time, and -1 for no process")
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add("4242 (odd) name) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 9 0 123 0 0")
	f.Add(")(")
	f.Fuzz(func(t *testing.T, s string) {
		// Any text, such as a stat line cut short, must not panic.
		_ = parseStat(s)
	})
}
