/*
 * forker starts itself again as a C program does: fork then execv, and
 * vfork then execv, and reports each child's exit status. Built static
 * with gcc (amd64) and aarch64-linux-gnu-gcc (arm64): gorunemu exec
 * must run glibc's processes as Linux does.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int run(pid_t pid) {
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv) {
	if (argc > 1) {
		printf("child %s: parent known %d\n", argv[1], getppid() > 1);
		return 5;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char *args[] = {argv[0], "forked", NULL};
		execv(argv[0], args);
		_exit(127);
	}
	printf("fork+exec: exit %d\n", run(pid));
	fflush(stdout);
	pid = vfork();
	if (pid == 0) {
		char *args[] = {argv[0], "vforked", NULL};
		execv(argv[0], args);
		_exit(127);
	}
	printf("vfork+exec: exit %d\n", run(pid));
	return 0;
}
