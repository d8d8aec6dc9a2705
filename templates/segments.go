package templates

import "unicode/utf16"

// Encoding of an SMS.
const (
	GSM7 = "GSM-7"
	UCS2 = "UCS-2"
)

// Segments is how an SMS text is sent: its encoding, its length in that encoding's
// units (GSM-7 septets, extension characters counting 2; UTF-16 code units for
// UCS-2, so an emoji counts 2) and the number of parts.
type Segments struct {
	Encoding string `json:"encoding"`
	Units    int    `json:"units"`
	Parts    int    `json:"parts"`
}

// gsmBasic is the GSM 03.38 basic character set; gsmExtended needs an escape (2 septets).
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
const gsmExtended = "^{}\\[~]|€\f"

var gsmBasicSet, gsmExtSet = runeSet(gsmBasic), runeSet(gsmExtended)

func runeSet(s string) map[rune]bool {
	m := map[rune]bool{}
	for _, r := range s {
		m[r] = true
	}
	return m
}

// CountSegments counts the parts an SMS text needs. GSM-7: 160 septets in one
// part, 153 per part when longer. Any character outside GSM-7 makes the whole
// text UCS-2: 70 UTF-16 units in one part, 67 per part when longer. An empty text
// is one part.
func CountSegments(text string) Segments {
	septets, gsm := 0, true
	for _, r := range text {
		switch {
		case gsmBasicSet[r]:
			septets++
		case gsmExtSet[r]:
			septets += 2
		default:
			gsm = false
		}
	}
	if gsm {
		return Segments{Encoding: GSM7, Units: septets, Parts: parts(septets, 160, 153)}
	}
	units := len(utf16.Encode([]rune(text)))
	return Segments{Encoding: UCS2, Units: units, Parts: parts(units, 70, 67)}
}

func parts(n, single, multi int) int {
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}
