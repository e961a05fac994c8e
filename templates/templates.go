// Package templates embeds the marketer-owned content (rank rules, shop
// identity, message templates) into every binary, so a deployed function
// carries the content it was tested with. TEMPLATES_DIR overrides it at run time.
package templates

import "embed"

// FS holds everything in this folder but this file.
//
//go:embed *.yaml */*/*.liquid
var FS embed.FS
