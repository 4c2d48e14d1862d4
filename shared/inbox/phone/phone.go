package phone

// This file ports libphonenumber's PhoneNumberUtil parsing, validation and
// region lookup, following nyaruka/phonenumbers v1.8.1 (MIT; itself a port of
// google/libphonenumber, Apache-2.0) statement by statement, including its
// regular expressions, so that both agree on every input. Where nyaruka
// departs from Java libphonenumber (for example it keeps non-Arabic-Indic
// Unicode digits instead of converting them, and its UNWANTED_END_CHARS uses
// Java class intersection syntax that Go's regexp reads differently), this
// port follows nyaruka, the reference Parley used until now.
//
// Extensions ("ext. 123", "x45", ";ext=", "#"), RFC 3966 "tel:" URIs with
// ";phone-context=" and ";isub=", and vanity letters ("1-800-FLOWERS", three
// or more ASCII letters) are implemented as libphonenumber does. An extension
// is kept on the Number but is not part of its E.164 form, as in
// libphonenumber's Format(E164).
//
// Nothing runs at package init: the metadata is static generated data and
// every regular expression is compiled on first use and cached.

import (
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// Parse errors, as libphonenumber's NumberParseException error types.
var (
	ErrInvalidCountryCode = errors.New("phone: invalid country code")
	ErrNotANumber         = errors.New("phone: not a phone number")
	ErrTooShortAfterIDD   = errors.New("phone: too short after the international dialling prefix")
	ErrTooShortNSN        = errors.New("phone: too short to be a phone number")
	ErrTooLong            = errors.New("phone: too long to be a phone number")
)

// Number is a parsed phone number: libphonenumber's PhoneNumber reduced to
// what Parley reads.
type Number struct {
	cc           int32
	national     uint64
	italianZero  bool
	leadingZeros int32 // numberOfLeadingZeros; libphonenumber's default is 1
	ext          string
}

// CountryCode is the country calling code (0 when none was found).
func (n Number) CountryCode() int { return int(n.cc) }

// Extension is the extension parsed off the number, or "".
func (n Number) Extension() string { return n.ext }

// NationalSignificantNumber is libphonenumber's GetNationalSignificantNumber.
func (n Number) NationalSignificantNumber() string {
	s := strconv.FormatUint(n.national, 10)
	if n.italianZero && n.leadingZeros > 0 {
		z := min(int(n.leadingZeros), maxLengthForNSN)
		s = strings.Repeat("0", z) + s
	}
	return s
}

// E164 formats the number as E.164 ("+" country code, national significant
// number; no extension), as libphonenumber's Format(n, E164).
func (n Number) E164() string {
	return "+" + strconv.Itoa(int(n.cc)) + n.NationalSignificantNumber()
}

// Valid reports whether the number matches a valid pattern of its region
// (libphonenumber's IsValidNumber).
func (n Number) Valid() bool {
	return n.validForRegion(n.Region())
}

// Region is the ISO 3166 region of the number, "001" for non-geographic
// calling codes, or "" when no region's rules fit (libphonenumber's
// GetRegionCodeForNumber). Regions sharing a calling code (NANPA's +1, +7,
// +44, ...) are told apart by their leadingDigits, else by full validation.
func (n Number) Region() string {
	regs := regionsForCC(n.cc)
	if len(regs) == 0 {
		return ""
	}
	if len(regs) == 1 {
		return regs[0]
	}
	nsn := n.NationalSignificantNumber()
	for _, r := range regs {
		md := metadataForRegion(r)
		if md == nil {
			continue
		}
		if md.leadingDigits != "" {
			if re("^(?:" + md.leadingDigits + ")").MatchString(nsn) {
				return r
			}
		} else if isValidNSN(nsn, md) {
			return r
		}
	}
	return ""
}

func (n Number) validForRegion(region string) bool {
	md := metadataForRegionOrCallingCode(n.cc, region)
	if md == nil || (region != regionNonGeo && n.cc != md.cc) {
		return false
	}
	return isValidNSN(n.NationalSignificantNumber(), md)
}

// Timezones returns the time zones of the number: those of the longest
// prefix of its E.164 digits in libphonenumber's prefix_to_timezone, or
// ["Etc/Unknown"] when no prefix matches (nyaruka's GetTimezonesForNumber,
// which looks prefixes up whatever the number's type). The slice is shared:
// do not modify it.
func Timezones(n Number) []string {
	digits := strings.TrimLeft(n.E164(), "+")
	for i := min(len(digits), tzMaxDigits); i > 0; i-- {
		key, err := strconv.ParseUint(digits[:i], 10, 64)
		if err != nil {
			return nil
		}
		if j, ok := slices.BinarySearch(tzPrefixes[:], key); ok {
			return tzZoneSets[tzSetOf[j]]
		}
	}
	return unknownZone
}

// UnknownTimezone is ICU's unknown zone, returned when no prefix matches.
const UnknownTimezone = "Etc/Unknown"

var unknownZone = []string{UnknownTimezone}

const (
	minLengthForNSN      = 2
	maxLengthForNSN      = 17
	maxLengthCountryCode = 3
	maxInputStringLength = 250
	regionNonGeo         = "001"
	unknownRegion        = "ZZ"

	rfc3966ExtnPrefix     = ";ext="
	rfc3966Prefix         = "tel:"
	rfc3966PhoneContext   = ";phone-context="
	rfc3966IsdnSubaddress = ";isub="

	validPunctuation = "-x\u2010-\u2015\u2212\u30FC\uFF0D-\uFF0F " +
		"\u00A0\u00AD\u200B\u2060\u3000()\uFF08\uFF09\uFF3B\uFF3D." +
		"\\[\\]/~\u2053\u223C\uFF5E"
	digits     = "\\p{Nd}"
	validAlpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	plusChars  = "+\uFF0B"

	plusCharsPattern      = "[" + plusChars + "]+"
	capturingDigitPattern = "(" + digits + ")"
	validStartCharPattern = "[" + plusChars + digits + "]"
	secondNumberStart     = "[\\\\/] *x"
	unwantedEndChars      = "[[\\P{N}&&\\P{L}]&&[^#]]+$" // as nyaruka; see the file comment
	validAlphaPhone       = "^(?:.*?[A-Za-z]){3}.*$"

	validPhoneNumber = digits + "{2}" + "|" +
		"[" + plusChars + "]*(?:[" + validPunctuation + "*" +
		"]*" + digits + "){3,}[" +
		validPunctuation + "*" + validAlpha + digits + "]*"

	possibleSeparatorsBetweenNumberAndExtLabel = "[ \u00A0\\t,]*"
	possibleCharsAfterExtLabel                 = "[:\\.\uFF0E]?[ \u00A0\\t,-]*"
	optionalExtnSuffix                         = "#?"
	explicitExtLabels                          = "(?:e?xt(?:ensi(?:o\u0301?|\u00F3))?n?|" +
		"\uFF45?\uFF58\uFF54\uFF4E?|\u0434\u043E\u0431|anexo)"
	ambiguousExtLabels = "(?:[x\uFF58#\uFF03~\uFF5E]|int|\uFF49\uFF4E\uFF54)"
	ambiguousSeparator = "[- ]+"

	extnPatternsForMatching = rfc3966ExtnPrefix + "(" + digits + "{1,20})" + "|" +
		possibleSeparatorsBetweenNumberAndExtLabel + explicitExtLabels +
		possibleCharsAfterExtLabel + "(" + digits + "{1,20})" + optionalExtnSuffix + "|" +
		possibleSeparatorsBetweenNumberAndExtLabel + ambiguousExtLabels +
		possibleCharsAfterExtLabel + "(" + digits + "{1,9})" + optionalExtnSuffix + "|" +
		ambiguousSeparator + "(" + digits + "{1,6})#"

	possibleSeparatorsNumberExtLabelNoComma = "[ \u00A0\\t]*"
	autoDiallingAndExtLabelsFound           = "(?:,{2}|;)"

	extnPatternsForParsing = extnPatternsForMatching + "|" +
		possibleSeparatorsNumberExtLabelNoComma + autoDiallingAndExtLabelsFound +
		possibleCharsAfterExtLabel + "(" + digits + "{1,15})" + optionalExtnSuffix + "|" +
		possibleSeparatorsNumberExtLabelNoComma + "(?:,)+" +
		possibleCharsAfterExtLabel + "(" + digits + "{1,9})" + optionalExtnSuffix

	extnPattern             = "(?i)(?:" + extnPatternsForParsing + ")$"
	validPhoneNumberPattern = "(?i)^(" + validPhoneNumber + "(?:" + extnPatternsForParsing + ")?)$"

	rfc3966VisualSeparator     = "[\\-\\.\\(\\)]?"
	rfc3966PhoneDigit          = "(" + digits + "|" + rfc3966VisualSeparator + ")"
	rfc3966GlobalNumberDigits  = "^\\+" + rfc3966PhoneDigit + "*" + digits + rfc3966PhoneDigit + "*$"
	alphanum                   = validAlpha + digits
	rfc3966Domainlabel         = "[" + alphanum + "]+((\\-)*[" + alphanum + "])*"
	rfc3966Toplabel            = "[" + validAlpha + "]+((\\-)*[" + alphanum + "])*"
	rfc3966DomainnamePattern   = "^(" + rfc3966Domainlabel + "\\.)*" + rfc3966Toplabel + "\\.?$"
	nationalNumberNeverMatches = "NA" // libphonenumber's pattern for an absent number type
)

// regexes caches compiled patterns by their source. Patterns come from the
// generated metadata or the constants above, so the cache is bounded.
var regexes sync.Map // string → *regexp.Regexp

func re(pattern string) *regexp.Regexp {
	if v, ok := regexes.Load(pattern); ok {
		return v.(*regexp.Regexp)
	}
	v, _ := regexes.LoadOrStore(pattern, regexp.MustCompile(pattern))
	return v.(*regexp.Regexp)
}

// --- metadata lookups -------------------------------------------------

func regionsForCC(cc int32) []string {
	i, ok := slices.BinarySearchFunc(callingCodes[:], cc, func(e callingCode, cc int32) int {
		return int(e.cc - cc)
	})
	if !ok {
		return nil
	}
	return callingCodes[i].regions
}

func regionCodeForCountryCode(cc int32) string {
	regs := regionsForCC(cc)
	if len(regs) == 0 {
		return unknownRegion
	}
	return regs[0]
}

// metadataForRegion is libphonenumber's getMetadataForRegion: nil unless the
// region is supported.
func metadataForRegion(region string) *territory {
	if region == "" {
		return nil
	}
	i, ok := slices.BinarySearchFunc(regions[:], region, func(t territory, r string) int {
		return strings.Compare(t.id, r)
	})
	if !ok || !regions[i].supported {
		return nil
	}
	return &regions[i]
}

func metadataForNonGeo(cc int32) *territory {
	if regionsForCC(cc) == nil {
		return nil
	}
	i, ok := slices.BinarySearchFunc(nonGeo[:], cc, func(t territory, cc int32) int {
		return int(t.cc - cc)
	})
	if !ok {
		return nil
	}
	return &nonGeo[i]
}

func metadataForRegionOrCallingCode(cc int32, region string) *territory {
	if region == regionNonGeo {
		return metadataForNonGeo(cc)
	}
	return metadataForRegion(region)
}

// isValidNSN is getNumberTypeHelper(nsn, md) != UNKNOWN.
func isValidNSN(nsn string, md *territory) bool {
	d := &md.descs
	if !matchesDesc(nsn, &d[descGeneral]) {
		return false
	}
	for _, i := range [...]int{descPremiumRate, descTollFree, descSharedCost, descVoip, descPersonalNumber,
		descPager, descUAN, descVoicemail, descFixedLine} {
		if matchesDesc(nsn, &d[i]) {
			return true
		}
	}
	return !md.sameMobileFixed && matchesDesc(nsn, &d[descMobile])
}

// matchesDesc is isNumberMatchingDesc: a possible length and a full match.
func matchesDesc(nsn string, d *desc) bool {
	if d.pattern == nationalNumberNeverMatches {
		return false // "^(?:NA)$" matches no string of digits
	}
	if len(d.lengths) > 0 && !slices.Contains(d.lengths, int8(min(len(nsn), 127))) {
		return false
	}
	return re("^(?:" + d.pattern + ")$").MatchString(nsn)
}

type lengthResult int

const (
	isPossible lengthResult = iota
	isPossibleLocalOnly
	tooShort
	tooLong
	invalidLength
)

// testNumberLength is libphonenumber's testNumberLength for type UNKNOWN
// (the general description), the only type parsing asks about.
func testNumberLength(number string, md *territory) lengthResult {
	d := &md.descs[descGeneral]
	possible := d.lengths
	if len(possible) == 0 || possible[0] == -1 {
		return invalidLength
	}
	actual := len(number)
	for _, l := range d.localLengths {
		if int(l) == actual {
			return isPossibleLocalOnly
		}
	}
	switch minLen := int(possible[0]); {
	case minLen == actual:
		return isPossible
	case minLen > actual:
		return tooShort
	case int(possible[len(possible)-1]) < actual:
		return tooLong
	}
	for _, l := range possible[1:] {
		if int(l) == actual {
			return isPossible
		}
	}
	return invalidLength
}

// --- parsing ----------------------------------------------------------

// Parse reads raw as a phone number. Numbers without a country code are read
// as defaultRegion numbers; with defaultRegion "" they must start with "+".
// It is libphonenumber's Parse: a nil error means the number could be
// parsed, not that it is valid (see Valid).
func Parse(raw, defaultRegion string) (Number, error) {
	var n Number
	n.leadingZeros = 1
	if len(raw) == 0 {
		return n, ErrNotANumber
	} else if len(raw) > maxInputStringLength {
		return n, ErrTooLong
	}
	national, err := buildNationalNumberForParsing(raw)
	if err != nil {
		return n, err
	}
	if !isViablePhoneNumber(national) {
		return n, ErrNotANumber
	}
	if metadataForRegion(defaultRegion) == nil {
		if len(national) == 0 || !re(plusCharsPattern).MatchString(national) {
			return n, ErrInvalidCountryCode
		}
	}
	national, n.ext = maybeStripExtension(national)

	regionMD := metadataForRegion(defaultRegion)
	cc, normalized, err := maybeExtractCountryCode(national, regionMD)
	if err != nil {
		ind := re(plusCharsPattern).FindStringIndex(national)
		if err == ErrInvalidCountryCode && ind != nil {
			// Strip the plus-char, and try again.
			cc, normalized, err = maybeExtractCountryCode(national[ind[1]:], regionMD)
			if err != nil {
				return n, err
			} else if cc == 0 {
				return n, ErrInvalidCountryCode
			}
		} else {
			return n, err
		}
	}
	if cc != 0 {
		if r := regionCodeForCountryCode(cc); r != defaultRegion {
			regionMD = metadataForRegionOrCallingCode(cc, r)
		}
	} else {
		normalized = normalize(national)
		if defaultRegion != "" && regionMD != nil {
			cc = regionMD.cc
		}
	}
	n.cc = cc
	if len(normalized) < minLengthForNSN {
		return n, ErrTooShortNSN
	}
	if regionMD != nil {
		potential, _ := maybeStripNationalPrefix(normalized, regionMD)
		// Keep the stripped form only if it is of a possible length:
		// the original could be a valid short number.
		switch testNumberLength(potential, regionMD) {
		case tooShort, isPossibleLocalOnly, invalidLength:
		default:
			normalized = potential
		}
	}
	if len(normalized) < minLengthForNSN {
		return n, ErrTooShortNSN
	}
	if len(normalized) > maxLengthForNSN {
		return n, ErrTooLong
	}
	// Italian leading zeros.
	if len(normalized) >= 2 && normalized[0] == '0' {
		n.italianZero = true
		z := 1
		// If the number is all zeros, the last one is not a leading zero.
		for z < len(normalized)-1 && normalized[z] == '0' {
			z++
		}
		n.leadingZeros = int32(z)
	}
	n.national, _ = strconv.ParseUint(normalized, 10, 64) // as nyaruka: a non-ASCII digit leaves 0
	return n, nil
}

// buildNationalNumberForParsing handles RFC 3966 (tel:, ;phone-context=,
// ;isub=) and otherwise extracts the possible number from the input.
func buildNationalNumberForParsing(s string) (string, error) {
	var b strings.Builder
	iCtx := strings.Index(s, rfc3966PhoneContext)
	ctx := extractPhoneContext(s, iCtx)
	if iCtx >= 0 && !isPhoneContextValid(ctx) {
		return "", ErrNotANumber
	}
	if iCtx > 0 {
		if ctx[0] == '+' {
			b.WriteString(ctx)
		}
		iTel := strings.Index(s, rfc3966Prefix)
		start := 0
		if iTel >= 0 && iTel < iCtx {
			start = iTel + len(rfc3966Prefix)
		}
		b.WriteString(s[start:iCtx])
	} else {
		b.WriteString(extractPossibleNumber(s))
	}
	out := b.String()
	if i := strings.Index(out, rfc3966IsdnSubaddress); i > 0 {
		out = out[:i]
	}
	return out, nil
}

func extractPhoneContext(s string, i int) string {
	if i == -1 {
		return ""
	}
	start := i + len(rfc3966PhoneContext)
	if start >= len(s) {
		return ""
	}
	if end := strings.IndexRune(s[start:], ';'); end != -1 {
		return s[start : start+end]
	}
	return s[start:]
}

func isPhoneContextValid(ctx string) bool {
	if ctx == "" {
		return false
	}
	return re(rfc3966GlobalNumberDigits).MatchString(ctx) || re(rfc3966DomainnamePattern).MatchString(ctx)
}

// extractPossibleNumber strips leading characters that cannot start a number,
// trailing non-alphanumerics and a second number ("x302/x2303").
func extractPossibleNumber(s string) string {
	loc := re(validStartCharPattern).FindStringIndex(s)
	if loc == nil {
		return ""
	}
	s = s[loc[0]:]
	if ind := re(unwantedEndChars).FindStringIndex(s); ind != nil {
		s = s[:ind[0]]
	}
	if ind := re(secondNumberStart).FindStringIndex(s); ind != nil {
		s = s[:ind[0]]
	}
	return s
}

func isViablePhoneNumber(s string) bool {
	if len(s) < minLengthForNSN {
		return false
	}
	return re(validPhoneNumberPattern).MatchString(s)
}

func maybeStripExtension(s string) (number, ext string) {
	p := re(extnPattern)
	ind := p.FindStringIndex(s)
	if ind != nil && isViablePhoneNumber(s[:ind[0]]) {
		for _, e := range p.FindStringSubmatch(s)[1:] {
			if e != "" {
				return s[:ind[0]], e
			}
		}
	}
	return s, ""
}

// normalize converts vanity letters (when there are three or more) to keypad
// digits, or else keeps only digits, converting full-width and Arabic-Indic
// ones to ASCII.
func normalize(s string) string {
	var b strings.Builder
	if re(validAlphaPhone).MatchString(s) {
		for _, c := range s {
			switch u := unicode.ToUpper(c); {
			case u >= '0' && u <= '9':
				b.WriteRune(u)
			case u >= 'A' && u <= 'Z':
				b.WriteByte("22233344455566677778889999"[u-'A'])
			}
		}
		return b.String()
	}
	return normalizeDigitsOnly(s)
}

func normalizeDigitsOnly(s string) string {
	var b strings.Builder
	for _, c := range s {
		if !unicode.IsDigit(c) {
			continue
		}
		switch {
		case c >= '\u0660' && c <= '\u0669':
			c = '0' + (c - '\u0660')
		case c >= '\u06F0' && c <= '\u06F9':
			c = '0' + (c - '\u06F0')
		case c >= '\uFF10' && c <= '\uFF19':
			c = '0' + (c - '\uFF10')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// maybeExtractCountryCode finds a country calling code after "+", after the
// default region's IDD, or (for a number that is only possible without it)
// at the start of a number of the default region. It returns 0 and the
// normalized number when none is present.
func maybeExtractCountryCode(number string, def *territory) (int32, string, error) {
	if number == "" {
		return 0, "", nil
	}
	idd := "NonMatch"
	if def != nil {
		idd = def.intlPrefix
	}
	full, fromDefault := maybeStripInternationalPrefixAndNormalize(number, idd)
	if !fromDefault {
		if len(full) <= minLengthForNSN {
			return 0, "", ErrTooShortAfterIDD
		}
		if cc, rest := extractCountryCode(full); cc != 0 {
			return cc, rest, nil
		}
		return 0, "", ErrInvalidCountryCode
	}
	if def != nil {
		dcc := strconv.Itoa(int(def.cc))
		if strings.HasPrefix(full, dcc) {
			potential, _ := maybeStripNationalPrefix(full[len(dcc):], def)
			valid := re("^(?:" + def.descs[descGeneral].pattern + ")$")
			if (!valid.MatchString(full) && valid.MatchString(potential)) || testNumberLength(full, def) == tooLong {
				return def.cc, potential, nil
			}
		}
	}
	return 0, "", nil
}

// maybeStripInternationalPrefixAndNormalize strips a leading "+" or IDD and
// normalizes; fromDefault reports that neither was there.
func maybeStripInternationalPrefixAndNormalize(number, idd string) (string, bool) {
	if number == "" {
		return number, true
	}
	if ind := re(plusCharsPattern).FindStringIndex(number); ind != nil && ind[0] == 0 {
		return normalize(number[ind[1]:]), false
	}
	number = normalize(number)
	if rest, ok := parsePrefixAsIdd(re(idd), number); ok {
		return rest, false
	}
	return number, true
}

func parsePrefixAsIdd(idd *regexp.Regexp, s string) (string, bool) {
	ind := idd.FindStringIndex(s)
	if ind == nil || ind[0] != 0 {
		return s, false
	}
	// Country calling codes do not begin with 0.
	if d := re(capturingDigitPattern).FindString(s[ind[1]:]); d != "" && normalizeDigitsOnly(d) == "0" {
		return s, false
	}
	return s[ind[1]:], true
}

func extractCountryCode(full string) (int32, string) {
	if full == "" || full[0] == '0' {
		return 0, ""
	}
	for i := 1; i <= maxLengthCountryCode && i <= len(full); i++ {
		cc, _ := strconv.Atoi(full[:i])
		if cc != 0 && regionsForCC(int32(cc)) != nil {
			return int32(cc), full[i:]
		}
	}
	return 0, ""
}

// maybeStripNationalPrefix strips the national prefix (and carrier code) with
// national_prefix_for_parsing and national_prefix_transform_rule, unless
// that turns a number matching the general pattern into one that does not.
func maybeStripNationalPrefix(number string, md *territory) (string, bool) {
	if number == "" || md.npParsing == "" {
		return number, false
	}
	prefix := re("^(?:" + md.npParsing + ")")
	groups := prefix.FindStringSubmatchIndex(number)
	if groups == nil {
		return number, false
	}
	rule := re("^(?:" + md.descs[descGeneral].pattern + ")$")
	viableOriginal := rule.MatchString(number)
	numGroups := len(groups)/2 - 1
	if md.npTransform == "" || groups[numGroups*2] < 0 {
		if viableOriginal && !rule.MatchString(number[groups[1]:]) {
			return number, false
		}
		return number[groups[1]:], true
	}
	transformed := prefix.ReplaceAllString(number, md.npTransform)
	if viableOriginal && !rule.MatchString(transformed) {
		return number, false
	}
	return transformed, true
}
