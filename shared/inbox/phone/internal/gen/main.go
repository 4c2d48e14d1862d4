// Command gen writes the phone package's data tables from libphonenumber's
// published metadata, as shipped in github.com/nyaruka/phonenumbers' data/
// directory, and (with -corpus) a test corpus whose expectations are computed
// by nyaruka/phonenumbers itself, the reference implementation.
//
// The files in data/ are named *.xml.gz but are not XML (checked by gunzipping
// them): metadata.xml.gz is a gzipped PhoneMetadataCollection protocol buffer
// (libphonenumber's phonemetadata.proto, built by nyaruka's cmd/buildmetadata
// from PhoneNumberMetadata.xml), and countrycode_to_region.xml.gz and
// prefix_to_timezone.xml.gz are gzipped int→[]string tables in nyaruka's own
// layout: uint32 LE length of a "\n"-joined value table, the values, uint32 LE
// entry count, then per entry a uvarint key delta, a uint8 value count and
// that many uint16 LE value indexes.
//
// This program may import protobuf and nyaruka: it is never linked into a
// Lambda. The phone package it generates for is stdlib-only.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
	"google.golang.org/protobuf/proto"
)

const module = "github.com/nyaruka/phonenumbers"

func main() {
	dataDir := flag.String("data", "", "nyaruka/phonenumbers data/ directory (default: from go list -m "+module+")")
	out := flag.String("out", ".", "directory to write metadata_gen.go and timezones_gen.go to")
	corpus := flag.String("corpus", "", "also write the test corpus to this JSON file")
	flag.Parse()
	log.SetFlags(0)

	dir := *dataDir
	if dir == "" {
		b, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
		if err != nil {
			log.Fatalf("go list -m %s: %v", module, err)
		}
		dir = filepath.Join(strings.TrimSpace(string(b)), "data")
	}
	version := "unknown"
	if b, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", module).Output(); err == nil {
		version = strings.TrimSpace(string(b))
	}

	coll := &phonenumbers.PhoneMetadataCollection{}
	if err := proto.Unmarshal(gunzip(filepath.Join(dir, "metadata.xml.gz")), coll); err != nil {
		log.Fatalf("metadata.xml.gz: %v", err)
	}
	ccRegions := readIntArrayMap(filepath.Join(dir, "countrycode_to_region.xml.gz"))
	tz := readIntArrayMap(filepath.Join(dir, "prefix_to_timezone.xml.gz"))

	src := fmt.Sprintf("%s@%s data/", module, version)
	write(filepath.Join(*out, "metadata_gen.go"), genMetadata(src, coll, ccRegions))
	write(filepath.Join(*out, "timezones_gen.go"), genTimezones(src, tz))
	if *corpus != "" {
		writeCorpus(*corpus, coll)
	}
}

func gunzip(path string) []byte {
	f, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(f))
	if err != nil {
		log.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		log.Fatalf("%s: %v", path, err)
	}
	return b
}

type intArrayEntry struct {
	key    uint64
	values []string
}

func readIntArrayMap(path string) []intArrayEntry {
	r := bytes.NewReader(gunzip(path))
	var n uint32
	must(binary.Read(r, binary.LittleEndian, &n))
	vb := make([]byte, n)
	_, err := io.ReadFull(r, vb)
	must(err)
	values := strings.Split(string(vb), "\n")
	var count uint32
	must(binary.Read(r, binary.LittleEndian, &count))
	var out []intArrayEntry
	var key uint64
	for range count {
		d, err := binary.ReadUvarint(r)
		must(err)
		key += d
		var k uint8
		must(binary.Read(r, binary.LittleEndian, &k))
		e := intArrayEntry{key: key}
		for range k {
			var i uint16
			must(binary.Read(r, binary.LittleEndian, &i))
			if int(i) >= len(values) {
				log.Fatalf("%s: value index %d out of range", path, i)
			}
			e.values = append(e.values, values[i])
		}
		out = append(out, e)
	}
	if r.Len() != 0 {
		log.Fatalf("%s: %d trailing bytes", path, r.Len())
	}
	return out
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func write(path string, src []byte) {
	b, err := format.Source(src)
	if err != nil {
		log.Fatalf("%s: gofmt: %v", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		log.Fatal(err)
	}
}

// descs lists the number descriptions the phone package reads, in the order
// of its desc* constants.
var descNames = []string{"generalDesc", "fixedLine", "mobile", "tollFree", "premiumRate", "sharedCost",
	"personalNumber", "voip", "pager", "uan", "voicemail"}

func descsOf(m *phonenumbers.PhoneMetadata) []*phonenumbers.PhoneNumberDesc {
	return []*phonenumbers.PhoneNumberDesc{m.GetGeneralDesc(), m.GetFixedLine(), m.GetMobile(), m.GetTollFree(),
		m.GetPremiumRate(), m.GetSharedCost(), m.GetPersonalNumber(), m.GetVoip(), m.GetPager(), m.GetUan(),
		m.GetVoicemail()}
}

func ints(l []int32) string {
	if len(l) == 0 {
		return "nil"
	}
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = strconv.Itoa(int(v))
	}
	return "[]int8{" + strings.Join(s, ",") + "}"
}

func genMetadata(src string, coll *phonenumbers.PhoneMetadataCollection, cc []intArrayEntry) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by go run ./internal/gen from %s; DO NOT EDIT.\n\npackage phone\n\n", src)

	var geo, nongeo []*phonenumbers.PhoneMetadata
	for _, m := range coll.GetMetadata() {
		if m.GetId() == "001" {
			nongeo = append(nongeo, m)
		} else {
			geo = append(geo, m)
		}
	}
	sort.Slice(geo, func(i, j int) bool { return geo[i].GetId() < geo[j].GetId() })
	sort.Slice(nongeo, func(i, j int) bool { return nongeo[i].GetCountryCode() < nongeo[j].GetCountryCode() })
	for i := 1; i < len(geo); i++ {
		if geo[i].GetId() == geo[i-1].GetId() {
			log.Fatalf("duplicate region %s", geo[i].GetId())
		}
	}

	// A region is supported (libphonenumber's supportedRegions) when the
	// calling code table lists it.
	supported := map[string]bool{}
	for _, e := range cc {
		for _, r := range e.values {
			if r != "001" {
				supported[r] = true
			}
		}
	}
	emit := func(m *phonenumbers.PhoneMetadata) {
		if len(m.GetGeneralDesc().PossibleLength) == 0 {
			log.Fatalf("%s/%d: general desc without possible lengths", m.GetId(), m.GetCountryCode())
		}
		fmt.Fprintf(&b, "{id: %q, cc: %d, supported: %v, intlPrefix: %q, npParsing: %q, npTransform: %q, leadingDigits: %q, sameMobileFixed: %v,\n",
			m.GetId(), m.GetCountryCode(), supported[m.GetId()], m.GetInternationalPrefix(), m.GetNationalPrefixForParsing(),
			m.GetNationalPrefixTransformRule(), m.GetLeadingDigits(), m.GetSameMobileAndFixedLinePattern())
		b.WriteString("descs: [numDescs]desc{\n")
		for i, d := range descsOf(m) {
			if d == nil {
				log.Fatalf("%s/%d: %s missing (nyaruka would dereference nil)", m.GetId(), m.GetCountryCode(), descNames[i])
			}
			fmt.Fprintf(&b, "/* %s */ {pattern: %q, lengths: %s, localLengths: %s},\n", descNames[i],
				d.GetNationalNumberPattern(), ints(d.PossibleLength), ints(d.PossibleLengthLocalOnly))
		}
		b.WriteString("}},\n")
	}
	b.WriteString("// regions holds the metadata of every geographic region, sorted by id.\nvar regions = [...]territory{\n")
	for _, m := range geo {
		emit(m)
	}
	b.WriteString("}\n\n// nonGeo holds the metadata of non-geographic calling codes (region \"001\"), sorted by cc.\nvar nonGeo = [...]territory{\n")
	for _, m := range nongeo {
		emit(m)
	}
	b.WriteString("}\n\n")

	b.WriteString("// callingCodes maps each country calling code to its regions, main region first, sorted by cc.\nvar callingCodes = [...]callingCode{\n")
	for _, e := range cc {
		q := make([]string, len(e.values))
		for i, v := range e.values {
			q[i] = strconv.Quote(v)
		}
		fmt.Fprintf(&b, "{%d, []string{%s}},\n", e.key, strings.Join(q, ", "))
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func genTimezones(src string, tz []intArrayEntry) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by go run ./internal/gen from %s; DO NOT EDIT.\n\npackage phone\n\n", src)
	// Intern the zone lists.
	var sets []string
	setIdx := map[string]int{}
	idx := make([]int, len(tz))
	maxDigits := 0
	for i, e := range tz {
		k := strings.Join(e.values, "&")
		j, ok := setIdx[k]
		if !ok {
			j = len(sets)
			setIdx[k] = j
			sets = append(sets, k)
		}
		idx[i] = j
		if n := len(strconv.FormatUint(e.key, 10)); n > maxDigits {
			maxDigits = n
		}
		if i > 0 && tz[i-1].key >= e.key {
			log.Fatal("prefix_to_timezone keys not ascending")
		}
	}
	if len(sets) > 65535 {
		log.Fatal("too many zone sets")
	}
	fmt.Fprintf(&b, "// tzMaxDigits is the number of digits of the longest prefix in tzPrefixes.\nconst tzMaxDigits = %d\n\n", maxDigits)
	b.WriteString("// tzZoneSets are the distinct zone lists of prefix_to_timezone.\nvar tzZoneSets = [...][]string{\n")
	for _, s := range sets {
		q := strings.Split(s, "&")
		for i := range q {
			q[i] = strconv.Quote(q[i])
		}
		fmt.Fprintf(&b, "{%s},\n", strings.Join(q, ", "))
	}
	b.WriteString("}\n\n// tzPrefixes are the prefixes (country code + national number) of prefix_to_timezone, ascending.\nvar tzPrefixes = [...]uint64{\n")
	for i, e := range tz {
		fmt.Fprintf(&b, "%d,", e.key)
		if i%10 == 9 {
			b.WriteString("\n")
		}
	}
	b.WriteString("}\n\n// tzSetOf[i] indexes tzZoneSets for tzPrefixes[i].\nvar tzSetOf = [...]uint16{\n")
	for i := range tz {
		fmt.Fprintf(&b, "%d,", idx[i])
		if i%20 == 19 {
			b.WriteString("\n")
		}
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// Case is one corpus entry: an input, a default region, and what
// nyaruka/phonenumbers says about it.
type Case struct {
	Input     string   `json:"input"`
	Region    string   `json:"default_region"`
	Note      string   `json:"note"`
	ParseOK   bool     `json:"parse_ok"`
	Valid     bool     `json:"valid"`
	E164      string   `json:"e164,omitempty"`
	RegionOut string   `json:"region,omitempty"`
	Timezones []string `json:"timezones,omitempty"`
}

func expect(input, region, note string) Case {
	c := Case{Input: input, Region: region, Note: note}
	num, err := phonenumbers.Parse(input, region)
	if err != nil {
		return c
	}
	c.ParseOK = true
	c.Valid = phonenumbers.IsValidNumber(num)
	c.E164 = phonenumbers.Format(num, phonenumbers.E164)
	c.RegionOut = phonenumbers.GetRegionCodeForNumber(num)
	c.Timezones, _ = phonenumbers.GetTimezonesForNumber(num)
	return c
}

func writeCorpus(path string, coll *phonenumbers.PhoneMetadataCollection) {
	var cases []Case
	seen := map[string]bool{}
	add := func(input, region, note string) {
		k := input + "\x00" + region
		if seen[k] {
			return
		}
		seen[k] = true
		cases = append(cases, expect(input, region, note))
	}
	typeNames := descNames[1:]
	ms := append([]*phonenumbers.PhoneMetadata(nil), coll.GetMetadata()...)
	sort.SliceStable(ms, func(i, j int) bool {
		if ms[i].GetId() != ms[j].GetId() {
			return ms[i].GetId() < ms[j].GetId()
		}
		return ms[i].GetCountryCode() < ms[j].GetCountryCode()
	})
	for _, m := range ms {
		id, cc := m.GetId(), strconv.Itoa(int(m.GetCountryCode()))
		for ti, d := range descsOf(m)[1:] {
			ex := d.GetExampleNumber()
			if ex == "" {
				continue
			}
			note := fmt.Sprintf("%s %s example", id, typeNames[ti])
			num, err := phonenumbers.Parse("+"+cc+ex, "")
			intl := "+" + cc + " " + ex
			if err == nil {
				intl = phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
			}
			add(intl, "", note+", international")
			add(intl, "US", note+", international, default US")
			add("+"+cc+ex, "", note+", E.164")
			if id != "001" {
				if err == nil {
					add(phonenumbers.Format(num, phonenumbers.NATIONAL), id, note+", national, default "+id)
				}
				add(ex, id, note+", bare national significant number, default "+id)
			}
			if ti == 0 || ti == 1 { // fixed line and mobile: dialled from the US
				add("011 "+cc+" "+ex, "US", note+", IDD from US")
			}
			// Invalid variants (the reference decides whether they really are).
			if len(ex) > 1 {
				add("+"+cc+ex[:len(ex)-1], "", note+", last digit dropped")
			}
			add("+"+cc+ex+"0", "", note+", digit 0 added")
			add("+"+cc+ex+"9", "", note+", digit 9 added")
			for _, w := range []byte("019") {
				if ex[0] != w {
					add("+"+cc+string(w)+ex[1:], "", note+", leading digit "+string(w))
				}
			}
		}
	}
	// US national forms, the ways people type them.
	for _, s := range []string{
		"(415) 555-0123", "415-555-0123", "415.555.0123", "4155550123", "1 415 555 0123", "1-415-555-0123",
		"+1 (415) 555-0123", "(201) 555-0123", "201-555-0123", "1 201 555 0123", "(212) 736-5000", "212 736 5000",
		"1 (800) 642-7676", "800-642-7676", "(555) 555-0123", "(415) 555-012", "(415) 555-01234", "(015) 555-0123",
		"011 44 20 7946 0018", "011 44 7400 123456", "011 49 30 123456", "011 33 1 42 68 53 00", "011 81 3-1234-5678",
		"011 52 55 1234 5678", "011 1 415 555 0123", "+44 (0) 20 7946 0018", "0044 20 7946 0018", "00 1 415 555 0123",
		"+1 415 555 0123 ext. 12", "415-555-0123 x45", "tel:+1-415-555-0123", "tel:415-555-0123;phone-context=+1",
		"1-800-FLOWERS", "1-800-GOOG-411", "+１ ４１５ ５５５ ０１２３", "+١٤١٥٥٥٥٠١٢٣", "+14155550123",
		"+12015550123", "+13125550123", "+16135550123", "+18095550123", "+16495550123", "+19395550123",
	} {
		add(s, "US", "US national/typed form")
		add(s, "", "typed form, no default region")
	}
	// One case per line: reviewable diffs at half the size of indented JSON.
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, c := range cases {
		line, err := json.Marshal(c)
		must(err)
		b.Write(line)
		if i < len(cases)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	must(os.WriteFile(path, b.Bytes(), 0o644))
	log.Printf("corpus: %d cases", len(cases))
}
