// privileged runs one instruction named by argv[1] that user code may not
// run (or, for the controls, may) and prints how it ended: "ran", or the
// signal and si_code it was stopped with. gorunemu's tests compare this
// with a native run (amd64) and qemu-aarch64.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void caught(int sig, siginfo_t *si, void *ctx) {
	char b[64];
	int n = snprintf(b, sizeof b, "signal %d code %d\n", sig, si->si_code);
	write(1, b, n);
	_exit(0);
}

struct insn {
	const char *name;
	void (*run)(void);
};

#if defined(__x86_64__)
static void movdr7(void) { __asm__ volatile("mov $1, %%eax; mov %%rax, %%dr7" ::: "rax"); }
static void readdr7(void) { __asm__ volatile("mov %%dr7, %%rax" ::: "rax"); }
static void readcr0(void) { __asm__ volatile("mov %%cr0, %%rax" ::: "rax"); }
static void writecr3(void) { __asm__ volatile("xor %%eax, %%eax; mov %%rax, %%cr3" ::: "rax"); }
static void hlt(void) { __asm__ volatile("hlt"); }
static void wrmsr(void) { __asm__ volatile("xor %%eax, %%eax; xor %%edx, %%edx; mov $0x10, %%ecx; wrmsr" ::: "rax", "rcx", "rdx"); }
static void rdmsr(void) { __asm__ volatile("mov $0x10, %%ecx; rdmsr" ::: "rax", "rcx", "rdx"); }
static void cli(void) { __asm__ volatile("cli"); }
static void sti(void) { __asm__ volatile("sti"); }
static void lidt(void) { static char buf[16]; __asm__ volatile("lidt %0" :: "m"(buf)); }
static void lgdt(void) { static char buf[16]; __asm__ volatile("lgdt %0" :: "m"(buf)); }
static void invd(void) { __asm__ volatile("invd"); }
static void wbinvd(void) { __asm__ volatile("wbinvd"); }
static void clts(void) { __asm__ volatile("clts"); }
static void swapgs(void) { __asm__ volatile("swapgs"); }
static void ud2(void) { __asm__ volatile("ud2"); }
static void int3(void) { __asm__ volatile("int3"); }
static void cpuid(void) { __asm__ volatile("xor %%eax, %%eax; cpuid" ::: "rax", "rbx", "rcx", "rdx"); }
static void rdtsc(void) { __asm__ volatile("rdtsc" ::: "rax", "rdx"); }
static struct insn insns[] = {
	{"mov-dr7", movdr7}, {"read-dr7", readdr7}, {"read-cr0", readcr0}, {"write-cr3", writecr3},
	{"hlt", hlt}, {"wrmsr", wrmsr}, {"rdmsr", rdmsr}, {"cli", cli}, {"sti", sti},
	{"lidt", lidt}, {"lgdt", lgdt}, {"invd", invd}, {"wbinvd", wbinvd}, {"clts", clts},
	{"swapgs", swapgs}, {"ud2", ud2}, {"int3", int3}, {"cpuid", cpuid}, {"rdtsc", rdtsc},
};
#elif defined(__aarch64__)
static void currentel(void) { unsigned long x; __asm__ volatile("mrs %0, CurrentEL" : "=r"(x)); }
static void vbar(void) { __asm__ volatile("msr vbar_el1, xzr"); }
static void mdscr(void) { __asm__ volatile("msr mdscr_el1, xzr"); }
static void cpacr(void) { __asm__ volatile("msr cpacr_el1, xzr"); }
static void sctlr(void) { unsigned long x; __asm__ volatile("mrs %0, sctlr_el1" : "=r"(x)); }
static void daif(void) { __asm__ volatile("msr daifset, #0xf"); }
static void tlbi(void) { __asm__ volatile("tlbi vmalle1"); }
static void dbgbvr(void) { __asm__ volatile("msr dbgbvr0_el1, xzr"); }
static void hvc(void) { __asm__ volatile("hvc #0"); }
static void smc(void) { __asm__ volatile("smc #0"); }
static void udf(void) { __asm__ volatile(".inst 0x00000000"); }
static void brk0(void) { __asm__ volatile("brk #0"); }
static void cntvct(void) { unsigned long x; __asm__ volatile("mrs %0, cntvct_el0" : "=r"(x)); }
static void ctr(void) { unsigned long x; __asm__ volatile("mrs %0, ctr_el0" : "=r"(x)); }
static void dczva(void) { static char buf[256] __attribute__((aligned(256))); __asm__ volatile("dc zva, %0" :: "r"(buf) : "memory"); }
static void midr(void) { unsigned long x; __asm__ volatile("mrs %0, midr_el1" : "=r"(x)); }
static void fp(void) { double d = 1.5; __asm__ volatile("fadd %d0, %d0, %d0" : "+w"(d)); }
static struct insn insns[] = {
	{"mrs-currentel", currentel}, {"msr-vbar", vbar}, {"msr-mdscr", mdscr}, {"msr-cpacr", cpacr},
	{"mrs-sctlr", sctlr}, {"msr-daifset", daif}, {"tlbi", tlbi}, {"msr-dbgbvr", dbgbvr},
	{"hvc", hvc}, {"smc", smc}, {"udf", udf}, {"brk", brk0}, {"mrs-cntvct", cntvct},
	{"mrs-ctr", ctr}, {"dc-zva", dczva}, {"mrs-midr", midr}, {"fp", fp},
};
#endif

int main(int argc, char **argv) {
#if defined(__aarch64__)
	if (argc == 2 && strcmp(argv[1], "midr-value") == 0) {
		// The value an emulated read gives (Linux's emulate_mrs).
		unsigned long x;
		__asm__ volatile("mrs %0, midr_el1" : "=r"(x));
		printf("%#lx\n", x);
		return 0;
	}
#endif
	if (argc < 2) {
		for (size_t i = 0; i < sizeof insns / sizeof insns[0]; i++) {
			printf("%s\n", insns[i].name);
		}
		return 0;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = caught;
	sa.sa_flags = SA_SIGINFO;
	int sigs[] = {SIGSEGV, SIGILL, SIGBUS, SIGTRAP, SIGFPE};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sigaction(sigs[i], &sa, NULL);
	}
	for (size_t i = 0; i < sizeof insns / sizeof insns[0]; i++) {
		if (strcmp(argv[1], insns[i].name) == 0) {
			insns[i].run();
			printf("ran\n");
			return 0;
		}
	}
	fprintf(stderr, "privileged: no instruction %s\n", argv[1]);
	return 2;
}
