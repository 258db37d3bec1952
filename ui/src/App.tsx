import { useEffect, useState } from 'react';
import { api, AppStatus, FirstScreen, firstScreen, toCommandError, User } from './api';
import { LoginScreen } from './components/LoginScreen';
import { ChatView } from './components/ChatView';
import { PAGE } from './components/ConversationPane';
import { Logo } from './components/Logo';
import { QuitConfirm } from './components/QuitConfirm';
import { startupStep } from './startup';

type Screen =
  | { kind: 'loading' }
  | { kind: 'login'; error: string | null }
  | { kind: 'signed-in'; user: User; first?: FirstScreen | null };

/** The screens, and the question asked before quitting while others use the hosted server. */
export function App() {
  return (
    <>
      <Screens />
      <QuitConfirm />
    </>
  );
}

/** Decides between the sign-in screen and the signed-in view; the app's state lives in Rust. */
function Screens() {
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [screen, setScreen] = useState<Screen>({ kind: 'loading' });

  useEffect(() => {
    let cancelled = false;
    (async () => {
      // A signed-in window's first screen is read before it is drawn, so its first frame shows the
      // cached timeline (reads are cheap; each render between them is not).
      const user = api.currentUser();
      const [statusResult, userResult, firstResult] = await Promise.allSettled([
        api.appStatus(),
        user,
        user.then((u) => (u ? firstScreen(PAGE) : null)),
      ]);
      const first = firstResult.status === 'fulfilled' ? firstResult.value : null;
      if (cancelled) return;
      startupStep('signed_in');
      if (statusResult.status === 'fulfilled') setStatus(statusResult.value);
      if (userResult.status === 'fulfilled' && userResult.value) {
        setScreen({ kind: 'signed-in', user: userResult.value, first });
      } else if (userResult.status === 'rejected') {
        const error = toCommandError(userResult.reason);
        // Not being signed in is the normal start; anything else is worth showing.
        setScreen({ kind: 'login', error: error.code === 'not_signed_in' ? null : error.message });
      } else {
        setScreen({ kind: 'login', error: null });
      }
    })();
    return () => {
      cancelled = true;
    };
  }, []);

  switch (screen.kind) {
    case 'loading':
      return (
        <div className="splash" aria-busy="true">
          <Logo size={64} />
        </div>
      );
    case 'login':
      return (
        <LoginScreen
          status={status}
          initialError={screen.error}
          onStatusChange={setStatus}
          onSignedIn={(user, next) => {
            setStatus(next);
            setScreen({ kind: 'signed-in', user });
          }}
        />
      );
    case 'signed-in':
      return (
        <ChatView
          user={screen.user}
          first={screen.first ?? null}
          status={status}
          onSignedOut={(reason) => {
            setScreen({ kind: 'login', error: reason ?? null });
            // The status is from before signing in ("nobody signed in here yet" may be stale).
            api.appStatus().then(setStatus, () => undefined);
          }}
        />
      );
  }
}
