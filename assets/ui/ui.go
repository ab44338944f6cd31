// Package uiassets embeds the dialog's default stylesheet (go:embed cannot
// reach it from ui/).
package uiassets

import _ "embed"

// DialogCSS is dialog.css.
//
//go:embed dialog.css
var DialogCSS string
