package reason

// Issue 16's codes, kept in their own file so that the list in reason.go
// stays one merge away from everyone else's additions.
const (
	// NvidiaDriver is a warning, not a refusal: the NVIDIA proprietary
	// driver is loaded (/sys/module/nvidia), which is known to leave a
	// black screen after a kexec; a normal Restart is the suggestion.
	NvidiaDriver Code = "nvidia-driver"
	// UnifiedKernelImage refuses a plan whose kernel file is a unified
	// kernel image (a PE with a .linux section): kexec_file_load takes a
	// bzImage (or an arm64 Image), not the EFI application wrapped around
	// it, so the load could only fail.
	UnifiedKernelImage Code = "unified-kernel-image"
)

func init() {
	codes = append(codes, NvidiaDriver, UnifiedKernelImage)
	sentences[NvidiaDriver] = N_("The NVIDIA graphics driver is loaded: after a Quick Restart the screen may stay black. A normal Restart is the safe choice.")
	sentences[UnifiedKernelImage] = N_("The kernel %s is a unified kernel image, which Quick Restart cannot start. Use a normal Restart.")
}
