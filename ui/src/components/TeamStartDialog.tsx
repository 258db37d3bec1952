import { FormEvent, useState } from 'react';
import { api, Conversation, LIMITS, Team } from '../api';
import { Dialog } from './Dialog';
import { explain } from './TeamDialog';

export type TeamStart = 'create' | 'join';

interface Props {
  mode: TeamStart;
  onClose: () => void;
  /** The team's `#general`, to show once the team is made or joined. */
  onOpened: (c: Conversation) => void;
}

const TEXT: Record<TeamStart, { title: string; label: string; placeholder: string; button: string }> = {
  create: {
    title: 'Create a team',
    label: 'Team name',
    placeholder: 'e.g. Analytical Engines',
    button: 'Create',
  },
  join: { title: 'Join a team', label: 'Invite code', placeholder: 'the code you were sent', button: 'Join' },
};

/** A team's #general, once the engine has it. */
async function generalOf(team: Team): Promise<Conversation> {
  const list = await api.conversations();
  const general = list.find((c) => c.id === team.default_channel_id);
  if (!general) throw { code: 'not_found', message: 'The team has no #general channel.' };
  return general;
}

/** Creating a team (by name) or joining one (by invite code), from the sidebar's "+" menu. */
export function TeamStartDialog({ mode, onClose, onOpened }: Props) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const text = TEXT[mode];

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!value.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const team =
        mode === 'create' ? await api.createTeam(value.trim()) : await api.joinInvite(value.trim());
      onOpened(await generalOf(team));
      onClose();
    } catch (err) {
      setError(explain(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title={text.title} onClose={onClose} testId={`${mode}-team-dialog`}>
      <form className="stack" onSubmit={(e) => void submit(e)}>
        <label htmlFor={`${mode}-team-input`}>{text.label}</label>
        <input
          id={`${mode}-team-input`}
          value={value}
          placeholder={text.placeholder}
          maxLength={mode === 'create' ? LIMITS.team_name_max : 128}
          autoComplete="off"
          disabled={busy}
          onChange={(e) => setValue(e.target.value)}
        />
        {error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
        <div className="row end">
          <button type="submit" disabled={busy || !value.trim()} data-testid={`${mode}-team-submit`}>
            {text.button}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
