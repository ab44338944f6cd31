package kexec

// FindKexecToolsIn is findKexecTools, for kexec_test's fixture roots.
var FindKexecToolsIn = findKexecTools
