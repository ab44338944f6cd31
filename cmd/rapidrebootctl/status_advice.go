package main

// Issue 16: the recommendation in `rapidrebootctl status`, kept apart from
// status.go so that other changes to status merge easily.

import (
	"context"
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/advice"
	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/i18n"
)

// adviceStatus is status's "advice" object in --json.
type adviceStatus struct {
	Kind           advice.Kind `json:"recommended"`
	Code           advice.Code `json:"code"`
	Detail         string      `json:"detail,omitempty"`
	Why            string      `json:"why,omitempty"`
	QuickOffered   bool        `json:"quick_offered"`
	SoftAvailable  bool        `json:"soft_available"`
	ColdReboot     bool        `json:"coldreboot"`
	SystemdVersion string      `json:"systemd_version,omitempty"`
	// SoftPending: a soft restart waits for the end of a session (the
	// dialog's Restart Apps Only under a session manager), or is being
	// carried out: the helper's SoftRestartPending.
	SoftPending bool `json:"soft_restart_pending"`
}

// getAdvice asks the helper; a helper from before issue 16 has no
// GetAdvice (UnknownMethod): no advice, no error.
func getAdvice(ctx context.Context, c *busapi.Client) (*adviceStatus, error) {
	a, err := c.GetAdvice(ctx)
	if err != nil {
		var ce *busapi.CallError
		if errors.As(err, &ce) && ce.Name == "org.freedesktop.DBus.Error.UnknownMethod" {
			return nil, nil
		}
		var de dbus.Error
		if errors.As(err, &de) && de.Name == "org.freedesktop.DBus.Error.UnknownMethod" {
			return nil, nil
		}
		return nil, helperErr(err)
	}
	// A helper from before the property answers UnknownProperty: nothing
	// pending, as far as it can say.
	pending, _ := c.SoftRestartPending(ctx)
	return &adviceStatus{
		Kind: a.Kind, Code: a.Code, Detail: a.Detail, Why: a.Why(i18n.G),
		QuickOffered: a.QuickOffered, SoftAvailable: a.SoftAvailable,
		ColdReboot: a.ColdReboot, SystemdVersion: a.SystemdVersion,
		SoftPending: pending,
	}, nil
}

// kindLabel names a kind of restart for the status lines.
func kindLabel(k advice.Kind) string {
	switch k {
	case advice.Quick:
		return i18n.G("Quick Restart")
	case advice.Soft:
		return i18n.G("Soft Restart (the kernel keeps running)")
	}
	return i18n.G("Restart")
}

// printAdvice prints the advice's lines after status's own.
func printAdvice(ctx *cliContext, a *adviceStatus) {
	if a == nil {
		return
	}
	w := ctx.Stdout
	fmt.Fprintf(w, "%s %s\n", i18n.G("Recommended:"), kindLabel(a.Kind))
	if a.Why != "" {
		fmt.Fprintf(w, "%s %s\n", i18n.G("Why:"), a.Why)
	}
	fmt.Fprintf(w, "%s %s\n", i18n.G("Next restart normal (coldreboot):"), yesNo(a.ColdReboot))
	if a.SoftAvailable {
		fmt.Fprintf(w, "%s %s\n", i18n.G("Soft restart possible:"), yesNo(true))
	} else if a.SystemdVersion != "" {
		fmt.Fprintf(w, "%s %s (systemd %s)\n", i18n.G("Soft restart possible:"), yesNo(false), a.SystemdVersion)
	} else {
		fmt.Fprintf(w, "%s %s\n", i18n.G("Soft restart possible:"), yesNo(false))
	}
	if a.SoftPending {
		fmt.Fprintf(w, "%s %s\n", i18n.G("Soft restart after log out pending:"), yesNo(true))
	}
}
