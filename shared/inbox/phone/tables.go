package phone

// desc is a libphonenumber PhoneNumberDesc.
type desc struct {
	pattern      string // national_number_pattern
	lengths      []int8 // possible_length; [-1] when the type does not exist
	localLengths []int8 // possible_length_local_only
}

// Indexes into territory.descs, as emitted by internal/gen.
const (
	descGeneral = iota
	descFixedLine
	descMobile
	descTollFree
	descPremiumRate
	descSharedCost
	descPersonalNumber
	descVoip
	descPager
	descUAN
	descVoicemail
	numDescs
)

// territory is a libphonenumber PhoneMetadata, reduced to what parsing,
// validation and region lookup read.
type territory struct {
	id              string
	cc              int32
	supported       bool // listed in the calling code table (libphonenumber's supportedRegions)
	intlPrefix      string
	npParsing       string // national_prefix_for_parsing
	npTransform     string // national_prefix_transform_rule
	leadingDigits   string
	sameMobileFixed bool
	descs           [numDescs]desc
}

// callingCode maps a country calling code to its regions, main one first.
type callingCode struct {
	cc      int32
	regions []string
}
