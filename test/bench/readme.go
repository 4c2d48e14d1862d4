package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// The README's cost table sits between these markers; make bench writes
// it and TestREADMECostsAreMeasured checks it.
const (
	readmeBegin = "<!-- make bench: costs -->"
	readmeEnd   = "<!-- /make bench: costs -->"
)

// markdown is the cost table as the README shows it.
func (b *bench) markdown() string {
	var s strings.Builder
	s.WriteString("| operation | RRU | WRU | all-in $ per million |\n|---|---:|---:|---:|\n")
	for _, r := range b.rows {
		fmt.Fprintf(&s, "| %s | %g | %g | %.2f |\n", r.op, r.read, r.write, r.allIn()*1e6)
	}
	return s.String()
}

func (r row) allIn() float64 {
	db := r.read*dollarsPerRRU + r.write*dollarsPerWRU
	return db + dollarsPerHTTPCall + dollarsPerLambdaReq + lambdaGBSeconds*dollarsPerGBSecond
}

// writeREADME replaces the table between the markers of the file at path.
func (b *bench) writeREADME(path string) error {
	return replaceBlock(path, readmeBegin, readmeEnd, b.markdown())
}

// The live inbox's figures sit between these markers; make bench writes
// them. Its timings vary from run to run, so no test holds them.
const (
	liveBegin = "<!-- make bench: live -->"
	liveEnd   = "<!-- /make bench: live -->"
)

func (r liveReport) writeREADME(path string) error {
	return replaceBlock(path, liveBegin, liveEnd, r.markdown())
}

// replaceBlock replaces what is between the begin and end markers of the
// file at path with content.
func replaceBlock(path, begin, end, content string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	before, rest, ok := bytes.Cut(doc, []byte(begin))
	_, after, ok2 := bytes.Cut(rest, []byte(end))
	if !ok || !ok2 {
		return fmt.Errorf("%s has no %s ... %s block", path, begin, end)
	}
	var out bytes.Buffer
	out.Write(before)
	out.WriteString(begin + "\n" + content + end)
	out.Write(after)
	return os.WriteFile(path, out.Bytes(), 0o644)
}

// readmeRows reads the table between the markers: operation -> RRU, WRU.
func readmeRows(doc string) (map[string][2]float64, error) {
	_, rest, ok := strings.Cut(doc, readmeBegin)
	table, _, ok2 := strings.Cut(rest, readmeEnd)
	if !ok || !ok2 {
		return nil, fmt.Errorf("no %s ... %s block", readmeBegin, readmeEnd)
	}
	rows := map[string][2]float64{}
	for line := range strings.Lines(table) {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) < 3 {
			continue
		}
		var rru, wru float64
		if _, err := fmt.Sscan(strings.TrimSpace(cells[1]), &rru); err != nil {
			continue // the header and its rule
		}
		if _, err := fmt.Sscan(strings.TrimSpace(cells[2]), &wru); err != nil {
			return nil, fmt.Errorf("row %q: %v", line, err)
		}
		rows[strings.TrimSpace(cells[0])] = [2]float64{rru, wru}
	}
	return rows, nil
}
