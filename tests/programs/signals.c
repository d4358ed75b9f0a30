/* signals.c: sigaction flags, masks, pending and queued signals, waiting for signals,
 * the alternate stack, restart versus EINTR, signals from faults, the aarch64 rt_sigframe
 * (general and FP/SIMD registers, pc) and returning through the vDSO's sigreturn. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <ucontext.h>

#include "testlib.h"
#include "vdsolib.h"

/* Instructions whose addresses the fault cases know. */
__asm__(".text\n"
	".global probe_udf\n.type probe_udf, %function\n"
	"probe_udf:\n\t.inst 0x00000000\n\tret\n"
	".global probe_brk\n.type probe_brk, %function\n"
	"probe_brk:\n\tbrk #0\n\tret\n"
	".global probe_load\n.type probe_load, %function\n"
	"probe_load:\n\tldr x0, [x0]\n\tret\n");
void probe_udf(void);
void probe_brk(void);
long probe_load(long *address);

/* What the last handler saw. */
static volatile int handled_count, handled_signal, handled_code, handled_pid, handled_uid;
static volatile int handled_blocked_self, handled_blocked_other, handled_depth, handled_max_depth;
static volatile int handled_value;
static void *volatile handled_address;
static volatile uintptr_t handled_pc, handled_x0, handled_stack, handled_return_address;

static void reset_record(void)
{
	handled_count = handled_signal = handled_code = handled_pid = handled_uid = 0;
	handled_blocked_self = handled_blocked_other = handled_depth = handled_max_depth = 0;
	handled_value = 0;
	handled_address = NULL;
	handled_pc = handled_x0 = handled_stack = handled_return_address = 0;
}

static void record_handler(int signal_number, siginfo_t *info, void *context)
{
	(void)context;
	handled_count++;
	handled_signal = signal_number;
	handled_code = info->si_code;
	handled_pid = info->si_pid;
	handled_uid = (int)info->si_uid;
	handled_value = info->si_value.sival_int;
	handled_address = info->si_addr;
	int local;
	handled_stack = (uintptr_t)&local;
	sigset_t now;
	sigprocmask(SIG_SETMASK, NULL, &now);
	handled_blocked_self = sigismember(&now, signal_number);
	handled_blocked_other = sigismember(&now, SIGUSR2);
}

static int install(int signal_number, void (*handler)(int, siginfo_t *, void *), int flags,
		   struct sigaction *old)
{
	struct sigaction action = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO | flags};
	sigemptyset(&action.sa_mask);
	return sigaction(signal_number, &action, old);
}

static void restore(int signal_number, const struct sigaction *old)
{
	sigaction(signal_number, old, NULL);
}

static void unblock_all(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* ---- cases ---- */

static void test_signals_siginfo_from_kill(void)
{
	struct sigaction old;
	reset_record();
	CHECK_OK(install(SIGUSR1, record_handler, 0, &old));
	CHECK_OK(kill(getpid(), SIGUSR1));
	/* a signal sent to oneself and not blocked is delivered before kill returns */
	CHECK_EQ(handled_count, 1);
	CHECK_EQ(handled_signal, SIGUSR1);
	CHECK_EQ(handled_code, SI_USER);
	CHECK_EQ(handled_pid, getpid());
	CHECK_EQ(handled_uid, getuid());
	/* from another process */
	reset_record();
	sigset_t block, previous;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &previous);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0)
		_exit(kill(getppid(), SIGUSR1) == 0 ? 0 : 1);
	sigset_t wait_mask = previous;
	sigdelset(&wait_mask, SIGUSR1);
	while (handled_count == 0)
		sigsuspend(&wait_mask);
	sigprocmask(SIG_SETMASK, &previous, NULL);
	waitpid(child, NULL, 0);
	restore(SIGUSR1, &old);
	CHECK_EQ(handled_pid, child);
	CHECK_EQ(handled_code, SI_USER);
	/* raise goes through tkill/tgkill */
	reset_record();
	CHECK_OK(install(SIGUSR1, record_handler, 0, &old));
	CHECK_OK(raise(SIGUSR1));
	restore(SIGUSR1, &old);
	CHECK_EQ(handled_count, 1);
	CHECK_EQ(handled_code, SI_TKILL);
	CHECK_EQ(handled_pid, getpid());
}

static void test_signals_sa_resethand(void)
{
	struct sigaction old, now;
	reset_record();
	CHECK_OK(install(SIGUSR1, record_handler, SA_RESETHAND, &old));
	CHECK_OK(sigaction(SIGUSR1, NULL, &now));
	CHECK(now.sa_sigaction == record_handler);
	CHECK_OK(raise(SIGUSR1));
	CHECK_EQ(handled_count, 1);
	CHECK_OK(sigaction(SIGUSR1, NULL, &now));
	restore(SIGUSR1, &old);
	CHECK(now.sa_handler == SIG_DFL);
	/* the second one takes the default action: termination */
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		reset_record();
		install(SIGUSR1, record_handler, SA_RESETHAND, NULL);
		raise(SIGUSR1);
		if (handled_count != 1)
			_exit(2);
		raise(SIGUSR1);
		_exit(3);
	}
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1, "child status 0x%x", status);
}

static void nesting_handler(int signal_number, siginfo_t *info, void *context)
{
	(void)info;
	(void)context;
	handled_count++;
	handled_depth++;
	if (handled_depth > handled_max_depth)
		handled_max_depth = handled_depth;
	sigset_t now;
	sigprocmask(SIG_SETMASK, NULL, &now);
	if (handled_depth == 1)
		handled_blocked_self = sigismember(&now, signal_number);
	if (handled_count == 1)
		raise(signal_number);
	handled_depth--;
}

static void test_signals_sa_nodefer(void)
{
	struct sigaction old;
	/* without SA_NODEFER the signal is blocked in its handler; the re-raise waits */
	reset_record();
	CHECK_OK(install(SIGUSR1, nesting_handler, 0, &old));
	CHECK_OK(raise(SIGUSR1));
	CHECK_EQ(handled_blocked_self, 1);
	CHECK_EQ(handled_max_depth, 1);
	CHECK_EQ(handled_count, 2);
	/* with SA_NODEFER it nests */
	reset_record();
	CHECK_OK(install(SIGUSR1, nesting_handler, SA_NODEFER, NULL));
	CHECK_OK(raise(SIGUSR1));
	restore(SIGUSR1, &old);
	CHECK_EQ(handled_blocked_self, 0);
	CHECK_EQ(handled_max_depth, 2);
	CHECK_EQ(handled_count, 2);
}

static void test_signals_sa_mask_blocks_in_handler(void)
{
	struct sigaction action = {.sa_sigaction = record_handler, .sa_flags = SA_SIGINFO}, old;
	sigemptyset(&action.sa_mask);
	sigaddset(&action.sa_mask, SIGUSR2);
	reset_record();
	CHECK_OK(sigaction(SIGUSR1, &action, &old));
	CHECK_OK(raise(SIGUSR1));
	restore(SIGUSR1, &old);
	CHECK_EQ(handled_blocked_other, 1);
	sigset_t now;
	sigprocmask(SIG_SETMASK, NULL, &now);
	CHECK_EQ(sigismember(&now, SIGUSR2), 0); /* the mask is restored on return */
	CHECK_EQ(sigismember(&now, SIGUSR1), 0);
}

static void test_signals_sigprocmask_sigpending(void)
{
	struct sigaction old;
	reset_record();
	CHECK_OK(install(SIGUSR1, record_handler, 0, &old));
	sigset_t block, previous, pending;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	CHECK_OK(sigprocmask(SIG_BLOCK, &block, &previous));
	CHECK_OK(raise(SIGUSR1));
	CHECK_OK(raise(SIGUSR1)); /* standard signals do not queue */
	CHECK_EQ(handled_count, 0);
	CHECK_OK(sigpending(&pending));
	CHECK_EQ(sigismember(&pending, SIGUSR1), 1);
	CHECK_EQ(sigismember(&pending, SIGUSR2), 0);
	CHECK_OK(sigprocmask(SIG_SETMASK, &previous, NULL));
	CHECK_EQ(handled_count, 1);
	CHECK_OK(sigpending(&pending));
	CHECK_EQ(sigismember(&pending, SIGUSR1), 0);
	/* SIGKILL and SIGSTOP cannot be blocked */
	sigset_t all, now;
	sigfillset(&all);
	CHECK_OK(sigprocmask(SIG_BLOCK, &all, NULL));
	CHECK_OK(sigprocmask(SIG_SETMASK, NULL, &now));
	CHECK_OK(sigprocmask(SIG_SETMASK, &previous, NULL));
	CHECK_EQ(sigismember(&now, SIGKILL), 0);
	CHECK_EQ(sigismember(&now, SIGSTOP), 0);
	CHECK_EQ(sigismember(&now, SIGTERM), 1);
	CHECK_ERRNO(sigprocmask(42, &block, NULL), EINVAL);
	restore(SIGUSR1, &old);
}

static volatile int queued_values[8], queued_count;

static void queue_handler(int signal_number, siginfo_t *info, void *context)
{
	(void)signal_number;
	(void)context;
	if (queued_count < 8)
		queued_values[queued_count] = info->si_value.sival_int;
	queued_count++;
}

static void test_signals_realtime_queue_in_order(void)
{
	struct sigaction old;
	int signal_number = SIGRTMIN + 1;
	CHECK_OK(install(signal_number, queue_handler, 0, &old));
	sigset_t block, previous;
	sigemptyset(&block);
	sigaddset(&block, signal_number);
	CHECK_OK(sigprocmask(SIG_BLOCK, &block, &previous));
	queued_count = 0;
	for (int value = 1; value <= 3; value++) {
		union sigval payload = {.sival_int = value * 100};
		CHECK_OK(sigqueue(getpid(), signal_number, payload));
	}
	CHECK_EQ(queued_count, 0);
	CHECK_OK(sigprocmask(SIG_SETMASK, &previous, NULL));
	restore(signal_number, &old);
	CHECK_EQ(queued_count, 3); /* real-time signals queue */
	CHECK_EQ(queued_values[0], 100);
	CHECK_EQ(queued_values[1], 200);
	CHECK_EQ(queued_values[2], 300);
}

static void test_signals_rt_sigsuspend(void)
{
	struct sigaction old;
	reset_record();
	CHECK_OK(install(SIGUSR1, record_handler, 0, &old));
	sigset_t block, previous;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	CHECK_OK(sigprocmask(SIG_BLOCK, &block, &previous));
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		usleep(30000);
		_exit(kill(getppid(), SIGUSR1) == 0 ? 0 : 1);
	}
	sigset_t wait_mask;
	sigemptyset(&wait_mask);
	sigaddset(&wait_mask, SIGUSR2);
	errno = 0;
	int result = sigsuspend(&wait_mask);
	int saved = errno;
	sigset_t after;
	sigprocmask(SIG_SETMASK, NULL, &after);
	sigprocmask(SIG_SETMASK, &previous, NULL);
	waitpid(child, NULL, 0);
	restore(SIGUSR1, &old);
	CHECK_EQ(result, -1);
	CHECK_EQ(saved, EINTR);
	CHECK_EQ(handled_count, 1);
	CHECK_EQ(handled_pid, child);
	CHECK_EQ(handled_blocked_other, 1); /* the handler ran under the suspend mask */
	CHECK_EQ(sigismember(&after, SIGUSR1), 1); /* the old mask is back */
}

static long elapsed_milliseconds(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static void test_signals_rt_sigtimedwait(void)
{
	struct sigaction old;
	reset_record();
	CHECK_OK(install(SIGUSR2, record_handler, 0, &old));
	sigset_t block, previous;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	CHECK_OK(sigprocmask(SIG_BLOCK, &block, &previous));
	struct timespec timeout = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000}, start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	siginfo_t info;
	errno = 0;
	int result = sigtimedwait(&block, &info, &timeout);
	int saved = errno;
	long waited = elapsed_milliseconds(&start);
	CHECK_EQ(result, -1);
	CHECK_EQ(saved, EAGAIN);
	CHECK_MSG(waited >= 50 && waited < 2000, "waited %ld ms for a 50 ms timeout", waited);
	/* a pending signal is taken without running the handler */
	CHECK_OK(raise(SIGUSR2));
	memset(&info, 0, sizeof info);
	CHECK_EQ(sigtimedwait(&block, &info, &timeout), SIGUSR2);
	CHECK_EQ(info.si_signo, SIGUSR2);
	CHECK_EQ(info.si_code, SI_TKILL);
	CHECK_EQ(info.si_pid, getpid());
	CHECK_EQ(handled_count, 0);
	/* a zero timeout polls */
	struct timespec zero = {0, 0};
	CHECK_ERRNO(sigtimedwait(&block, &info, &zero), EAGAIN);
	struct timespec bad = {0, 1000000000};
	CHECK_ERRNO(sigtimedwait(&block, &info, &bad), EINVAL);
	sigprocmask(SIG_SETMASK, &previous, NULL);
	restore(SIGUSR2, &old);
}

static void altstack_handler(int signal_number, siginfo_t *info, void *context)
{
	record_handler(signal_number, info, context);
	stack_t current;
	if (sigaltstack(NULL, &current) == 0 && (current.ss_flags & SS_ONSTACK))
		handled_value = 1;
	else
		handled_value = -1;
}

static void test_signals_sigaltstack_onstack(void)
{
	static char alternate[64 * 1024] __attribute__((aligned(16)));
	stack_t stack = {.ss_sp = alternate, .ss_size = sizeof alternate, .ss_flags = 0}, old;
	CHECK_OK(sigaltstack(&stack, &old));
	stack_t query;
	CHECK_OK(sigaltstack(NULL, &query));
	CHECK(query.ss_sp == alternate);
	CHECK_EQ(query.ss_size, sizeof alternate);
	CHECK_EQ(query.ss_flags, 0);
	struct sigaction previous;
	reset_record();
	CHECK_OK(install(SIGUSR1, altstack_handler, SA_ONSTACK, &previous));
	CHECK_OK(raise(SIGUSR1));
	CHECK_MSG(handled_stack >= (uintptr_t)alternate &&
			  handled_stack < (uintptr_t)alternate + sizeof alternate,
		  "handler stack %#lx outside the alternate stack %p..+%zu",
		  (unsigned long)handled_stack, (void *)alternate, sizeof alternate);
	CHECK_EQ(handled_value, 1);
	/* without SA_ONSTACK the handler stays on the normal stack */
	reset_record();
	CHECK_OK(install(SIGUSR1, record_handler, 0, NULL));
	CHECK_OK(raise(SIGUSR1));
	CHECK(handled_stack < (uintptr_t)alternate ||
	      handled_stack >= (uintptr_t)alternate + sizeof alternate);
	restore(SIGUSR1, &previous);
	stack_t tiny = {.ss_sp = alternate, .ss_size = 512, .ss_flags = 0};
	CHECK_ERRNO(sigaltstack(&tiny, NULL), ENOMEM);
	stack_t disable = {.ss_flags = SS_DISABLE};
	CHECK_OK(sigaltstack(&disable, NULL));
	CHECK_OK(sigaltstack(NULL, &query));
	CHECK_EQ(query.ss_flags, SS_DISABLE);
}

static void count_handler(int signal_number)
{
	(void)signal_number;
	handled_count++;
}

/* Blocks reading a pipe whose writer sends a byte after 300 ms; SIGALRM comes at 50 ms. */
static void test_signals_sa_restart_vs_eintr(void)
{
	for (int restart = 0; restart <= 1; restart++) {
		int channel[2];
		CHECK_OK(pipe(channel));
		struct sigaction action = {.sa_handler = count_handler,
					   .sa_flags = restart ? SA_RESTART : 0},
				 old;
		sigemptyset(&action.sa_mask);
		CHECK_OK(sigaction(SIGALRM, &action, &old));
		pid_t child = fork();
		CHECK(child >= 0);
		if (child == 0) {
			close(channel[0]);
			usleep(300000);
			_exit(write(channel[1], "R", 1) == 1 ? 0 : 1);
		}
		close(channel[1]);
		handled_count = 0;
		struct itimerval timer = {.it_value = {.tv_sec = 0, .tv_usec = 50000}};
		CHECK_OK(setitimer(ITIMER_REAL, &timer, NULL));
		char byte = 0;
		errno = 0;
		ssize_t result = read(channel[0], &byte, 1);
		int saved = errno;
		waitpid(child, NULL, 0);
		close(channel[0]);
		sigaction(SIGALRM, &old, NULL);
		CHECK_EQ(handled_count, 1);
		if (restart) {
			CHECK_MSG(result == 1 && byte == 'R', "SA_RESTART read gave %ld errno %d",
				  (long)result, saved);
		} else {
			CHECK_MSG(result == -1 && saved == EINTR, "read gave %ld errno %d, expected EINTR",
				  (long)result, saved);
		}
	}
}

/* Fault handler: records and steps over the faulting instruction; for probe_load it also
 * rewrites x0, which must come back through rt_sigreturn. */
static void fault_handler(int signal_number, siginfo_t *info, void *context)
{
	ucontext_t *user_context = context;
	record_handler(signal_number, info, context);
	handled_pc = user_context->uc_mcontext.pc;
	handled_x0 = user_context->uc_mcontext.regs[0];
	if (user_context->uc_mcontext.pc == (uintptr_t)probe_load)
		user_context->uc_mcontext.regs[0] = 1234;
	user_context->uc_mcontext.pc += 4;
}

static void test_signals_sigill_undefined_instruction(void)
{
	struct sigaction old;
	reset_record();
	CHECK_OK(install(SIGILL, fault_handler, 0, &old));
	probe_udf();
	restore(SIGILL, &old);
	CHECK_EQ(handled_count, 1);
	CHECK_EQ(handled_signal, SIGILL);
	/* Linux reports ILL_ILLOPC; qemu-user reports ILL_ILLOPN. Either is a fault, not a kill. */
	CHECK_MSG(handled_code == ILL_ILLOPC || handled_code == ILL_ILLOPN, "si_code %d",
		  handled_code);
	CHECK_MSG(handled_address == (void *)probe_udf, "si_addr %p, instruction at %p",
		  handled_address, (void *)probe_udf);
	CHECK_EQ(handled_pc, (uintptr_t)probe_udf);
}

static void test_signals_sigtrap_brk(void)
{
	struct sigaction old;
	reset_record();
	CHECK_OK(install(SIGTRAP, fault_handler, 0, &old));
	probe_brk();
	restore(SIGTRAP, &old);
	CHECK_EQ(handled_count, 1);
	CHECK_EQ(handled_signal, SIGTRAP);
	CHECK_EQ(handled_code, TRAP_BRKPT);
	CHECK_EQ(handled_pc, (uintptr_t)probe_brk);
	CHECK_MSG(handled_address == (void *)probe_brk, "si_addr %p, brk at %p", handled_address,
		  (void *)probe_brk);
}

static void test_signals_ucontext_pc_skip(void)
{
	struct sigaction old;
	reset_record();
	CHECK_OK(install(SIGSEGV, fault_handler, 0, &old));
	long *bad = (long *)0x10;
	long result = probe_load(bad);
	restore(SIGSEGV, &old);
	CHECK_EQ(handled_count, 1);
	CHECK_EQ(handled_signal, SIGSEGV);
	CHECK_EQ(handled_code, SEGV_MAPERR);
	CHECK(handled_address == (void *)bad);
	CHECK_EQ(handled_pc, (uintptr_t)probe_load);
	CHECK_EQ(handled_x0, (uintptr_t)bad); /* the frame holds the faulting x0 */
	CHECK_EQ(result, 1234);               /* and the handler's x0 came back */
}

static void test_signals_sigfpe(void)
{
	/* aarch64 integer division by zero does not trap: it yields 0 */
	volatile int numerator = 7, denominator = 0;
	struct sigaction old;
	reset_record();
	CHECK_OK(install(SIGFPE, record_handler, 0, &old));
	int quotient;
	__asm__ volatile("sdiv %w0, %w1, %w2" : "=r"(quotient) : "r"(numerator), "r"(denominator));
	CHECK_EQ(quotient, 0);
	CHECK_EQ(handled_count, 0);
	/* so SIGFPE arrives only when sent */
	CHECK_OK(raise(SIGFPE));
	restore(SIGFPE, &old);
	CHECK_EQ(handled_count, 1);
	CHECK_EQ(handled_signal, SIGFPE);
	CHECK_EQ(handled_code, SI_TKILL);
}

static void test_signals_sigchld_on_child_exit(void)
{
	struct sigaction old;
	reset_record();
	CHECK_OK(install(SIGCHLD, record_handler, 0, &old));
	sigset_t block, previous;
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &previous);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0)
		_exit(5);
	sigset_t wait_mask = previous;
	sigdelset(&wait_mask, SIGCHLD);
	while (handled_count == 0)
		sigsuspend(&wait_mask);
	sigprocmask(SIG_SETMASK, &previous, NULL);
	restore(SIGCHLD, &old);
	CHECK_EQ(handled_signal, SIGCHLD);
	CHECK_EQ(handled_code, CLD_EXITED);
	CHECK_EQ(handled_pid, child);
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_EQ(WEXITSTATUS(status), 5);
}

static void fp_handler(int signal_number, siginfo_t *info, void *context)
{
	ucontext_t *user_context = context;
	record_handler(signal_number, info, context);
	struct _aarch64_ctx *head = (struct _aarch64_ctx *)user_context->uc_mcontext.__reserved;
	if (head->magic != FPSIMD_MAGIC || head->size < sizeof(struct fpsimd_context)) {
		handled_value = -1;
		return;
	}
	struct fpsimd_context *fp = (struct fpsimd_context *)head;
	handled_x0 = (uintptr_t)(uint64_t)fp->vregs[16];
	/* clobber the live register and change the saved copy: the saved copy must win */
	__asm__ volatile("fmov d16, xzr" ::: "v16");
	fp->vregs[16] = (__uint128_t)0x4242424242424242ULL;
	handled_value = 1;
}

static void test_signals_fpsimd_context_restored(void)
{
	struct sigaction old;
	reset_record();
	CHECK_OK(install(SIGUSR1, fp_handler, 0, &old));
	uint64_t before = 0x1122334455667788ULL, after = 0;
	long pid = getpid();
	/* set d16, send the signal with a raw svc (delivered on return), read d16 */
	__asm__ volatile("fmov d16, %1\n\t"
			 "mov x0, %2\n\t"
			 "mov x1, %3\n\t"
			 "mov x8, %4\n\t"
			 "svc #0\n\t"
			 "fmov %0, d16"
			 : "=r"(after)
			 : "r"(before), "r"(pid), "i"(SIGUSR1), "i"(SYS_kill)
			 : "x0", "x1", "x8", "v16", "memory");
	restore(SIGUSR1, &old);
	CHECK_EQ(handled_count, 1);
	CHECK_MSG(handled_value == 1, "no FPSIMD_MAGIC record at the start of __reserved");
	CHECK_EQ(handled_x0, before);
	CHECK_EQ(after, 0x4242424242424242ULL);
}

static void test_signals_default_actions(void)
{
	/* SIGTERM's default terminates */
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		raise(SIGTERM);
		_exit(1);
	}
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status 0x%x", status);
	/* SIGURG's and SIGWINCH's default is to ignore */
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		raise(SIGURG);
		raise(SIGWINCH);
		_exit(0);
	}
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
	/* SIGSTOP stops, SIGCONT continues */
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		for (;;)
			pause();
	}
	CHECK_OK(kill(child, SIGSTOP));
	CHECK_EQ(waitpid(child, &status, WUNTRACED), child);
	CHECK_MSG(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP, "status 0x%x", status);
	CHECK_OK(kill(child, SIGCONT));
	CHECK_EQ(waitpid(child, &status, WCONTINUED), child);
	CHECK_MSG(WIFCONTINUED(status), "status 0x%x", status);
	CHECK_OK(kill(child, SIGKILL));
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_EQ(WTERMSIG(status), SIGKILL);
}

static void test_signals_invalid_requests(void)
{
	struct sigaction action = {.sa_handler = count_handler};
	sigemptyset(&action.sa_mask);
	CHECK_ERRNO(sigaction(SIGKILL, &action, NULL), EINVAL);
	CHECK_ERRNO(sigaction(SIGSTOP, &action, NULL), EINVAL);
	CHECK_ERRNO(syscall(SYS_rt_sigaction, 0, NULL, NULL, 8), EINVAL);
	CHECK_ERRNO(syscall(SYS_rt_sigaction, 65, NULL, NULL, 8), EINVAL);
	CHECK_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 4), EINVAL); /* sigsetsize */
	CHECK_OK(kill(getpid(), 0)); /* existence check */
	CHECK_ERRNO(kill(999999, 0), ESRCH);
	CHECK_ERRNO(kill(getpid(), 65), EINVAL);
	CHECK_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, (void *)16, NULL, 8), EFAULT);
}

/* A clone child's exit signal is whatever the low byte of the clone flags names; a stop
 * signal there stops the parent when the child exits (the stress test's "stalled"
 * workers). The stopped parent shows state T in /proc/<pid>/stat, not R. */
static void test_signals_clone_exit_signal_stops_parent(void)
{
	/* qemu-user makes a clone without CLONE_VM a host fork(), whose exit signal is
	 * always SIGCHLD: the child would never stop. */
	SKIP_WITHOUT_VDSO();
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		/* Its own group, with the parent outside it in the same session: not an
		 * orphaned group, so Linux does not discard SIGTTIN. */
		setpgid(0, 0);
		long grandchild = syscall(SYS_clone, SIGTTIN, 0, 0, 0, 0);
		if (grandchild == 0)
			_exit(0);
		if (grandchild < 0)
			_exit(2);
		for (;;)
			pause();
	}
	int status;
	CHECK_EQ(waitpid(child, &status, WUNTRACED), child);
	CHECK_MSG(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTTIN, "status 0x%x", status);
	char path[48], text[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)child);
	int descriptor = open(path, O_RDONLY);
	CHECK(descriptor >= 0);
	ssize_t length = read(descriptor, text, sizeof text - 1);
	close(descriptor);
	CHECK(length > 0);
	text[length > 0 ? length : 0] = 0;
	char *after_name = strrchr(text, ')');
	CHECK(after_name != NULL);
	CHECK_MSG(after_name && after_name[1] == ' ' && after_name[2] == 'T',
		  "stopped child's stat: %s", text);
	CHECK_OK(kill(child, SIGKILL));
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_EQ(WTERMSIG(status), SIGKILL);
	/* The grandchild, reparented to init when this is init: reaped if it is ours. */
	while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
		;
}

/* The kernel's struct sigaction for rt_sigaction on aarch64. */
struct kernel_sigaction {
	void (*handler)(int, siginfo_t *, void *);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

static void trampoline_handler(int signal_number, siginfo_t *info, void *context)
{
	handled_return_address = (uintptr_t)__builtin_return_address(0);
	record_handler(signal_number, info, context);
}

static void test_signals_vdso_sigreturn_without_restorer(void)
{
	SKIP_WITHOUT_VDSO();
	uintptr_t header = getauxval(AT_SYSINFO_EHDR);
	const uint32_t *trampoline = vdso_symbol(header, "__kernel_rt_sigreturn");
	CHECK_MSG(trampoline != NULL, "__kernel_rt_sigreturn not found in the vDSO");
	CHECK_EQ(trampoline[-1], 0xd503201f); /* nop */
	CHECK_EQ(trampoline[0], 0xd2801168);  /* mov x8, #139 */
	CHECK_EQ(trampoline[1], 0xd4000001);  /* svc #0 */
	struct kernel_sigaction action = {.handler = trampoline_handler, .flags = SA_SIGINFO},
				old;
	CHECK_EQ(syscall(SYS_rt_sigaction, SIGUSR1, &action, &old, 8), 0);
	reset_record();
	volatile uint64_t canary = 0xfeedfacecafebeefULL;
	CHECK_OK(raise(SIGUSR1));
	syscall(SYS_rt_sigaction, SIGUSR1, &old, NULL, 8);
	CHECK_EQ(handled_count, 1);
	CHECK_MSG(handled_return_address == (uintptr_t)trampoline,
		  "handler would return to %#lx, __kernel_rt_sigreturn is %p",
		  (unsigned long)handled_return_address, (const void *)trampoline);
	CHECK_EQ(canary, 0xfeedfacecafebeefULL);
}

int main(void)
{
	unblock_all();
	RUN(signals_siginfo_from_kill);
	RUN(signals_sa_resethand);
	RUN(signals_sa_nodefer);
	RUN(signals_sa_mask_blocks_in_handler);
	RUN(signals_sigprocmask_sigpending);
	RUN(signals_realtime_queue_in_order);
	RUN(signals_rt_sigsuspend);
	RUN(signals_rt_sigtimedwait);
	RUN(signals_sigaltstack_onstack);
	RUN(signals_sa_restart_vs_eintr);
	RUN(signals_sigill_undefined_instruction);
	RUN(signals_sigtrap_brk);
	RUN(signals_ucontext_pc_skip);
	RUN(signals_sigfpe);
	RUN(signals_sigchld_on_child_exit);
	RUN(signals_fpsimd_context_restored);
	RUN(signals_default_actions);
	RUN(signals_invalid_requests);
	RUN(signals_vdso_sigreturn_without_restorer);
	RUN(signals_clone_exit_signal_stops_parent);
	return tl_finish();
}
